-- Built once by `lake build` so that `import Mathlib` is ready (and its oleans are in place)
-- before the pipeline checks anything.
import Mathlib
