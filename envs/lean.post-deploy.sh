#!/usr/bin/env bash
# Runs once, inside the new conda environment of envs/lean.yaml (Snakemake's post-deploy hook):
# installs elan and the Lean toolchain pinned in lean/lean-toolchain under $CONDA_PREFIX/elan and
# puts them on PATH whenever the environment is activated. Needs network (GitHub) on the node
# that creates the environment; nodes without it should use a prepared image (lean/README.md).
set -euo pipefail
toolchain_file="$(cd "$(dirname "$0")/.." && pwd)/lean/lean-toolchain"
if [ -r "$toolchain_file" ]; then
    toolchain="$(cat "$toolchain_file")"
else
    # A workflow deployed without lean/ (e.g. from a remote Snakefile): say so, rather than
    # silently installing a different Lean than the one the repository pins.
    echo "lean.post-deploy.sh: $toolchain_file not found; installing Lean 'stable'" >&2
    toolchain=stable
fi
export ELAN_HOME="$CONDA_PREFIX/elan"
if [ ! -x "$ELAN_HOME/bin/elan" ]; then
    curl -sSfL https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -o "$CONDA_PREFIX/elan-init.sh"
    sh "$CONDA_PREFIX/elan-init.sh" -y --no-modify-path --default-toolchain "$toolchain"
    rm -f "$CONDA_PREFIX/elan-init.sh"
fi
mkdir -p "$CONDA_PREFIX/etc/conda/activate.d"
cat > "$CONDA_PREFIX/etc/conda/activate.d/elan.sh" <<ACTIVATE
export ELAN_HOME="$ELAN_HOME"
export PATH="$ELAN_HOME/bin:\$PATH"
ACTIVATE
"$ELAN_HOME/bin/lean" --version
