# Shared by scripts/test, scripts/demo and scripts/bench: build (or reuse) a project virtualenv for one
# Airflow line from its pinned requirements file. Source it, then call: ensure_venv 3.3   (or 2.11)
# Prints nothing on reuse; the venv is rebuilt when the pins or pyproject.toml change.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then UV=$(command -v uv); return; fi
  if [ ! -x "$ROOT/.venvs/tools/bin/uv" ]; then
    echo "== installing uv into .venvs/tools" >&2
    "$PYTHON" -m venv "$ROOT/.venvs/tools" >&2
    "$ROOT/.venvs/tools/bin/pip" install --quiet "uv==0.13.8" >&2
  fi
  UV="$ROOT/.venvs/tools/bin/uv"
}

# ensure_venv LINE -> sets VENV to the venv's path
ensure_venv() {
  local line=$1
  VENV="$ROOT/.venvs/airflow-$line"
  local pins="$ROOT/requirements/airflow-$line.txt"
  local stamp
  stamp=$(cat "$pins" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
  if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$stamp" ]; then return; fi
  ensure_uv
  echo "== building $VENV (Airflow $line)" >&2
  rm -rf "$VENV"
  "$UV" venv --quiet --python "$PYTHON" "$VENV" >&2
  VIRTUAL_ENV="$VENV" "$UV" pip install --quiet -r "$pins" >&2
  VIRTUAL_ENV="$VENV" "$UV" pip install --quiet --no-deps -e "$ROOT" >&2
  echo "$stamp" > "$VENV/.stamp"
}
