import Lake
open Lake DSL

-- The verification project: Mathlib and the Lean REPL at the toolchain's version.
-- Rows carry their own `lean_header`; this pins what `import Mathlib` means on our machines.
package mathforge_lean where
  leanOptions := #[⟨`autoImplicit, false⟩]

require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "v4.15.0"

require REPL from git
  "https://github.com/leanprover-community/repl" @ "v4.15.0"

@[default_target]
lean_lib MathforgeCheck where
  roots := #[`MathforgeCheck]
