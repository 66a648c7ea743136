#!/usr/bin/env bash
# Device calls for attnc export --target torch, from the root of a checkout that carries .device
# (make_bundle.sh): exports the bench patterns, examples/gated.attn, examples/softmax_sink.attn and
# examples/python/lm_attention.attn as torch packages with the bundle's attnc, then, by stage:
#   check  bench/gpu/torch_check.py: fake/meta and opcheck, forward/LSE/gradients against float64
#          attention on ragged shapes (decode steps among them), paged_decode and ragged_prefill against
#          float64 sequence by sequence, sm_80 against sm_90a kernels, torch.compile at several lengths,
#          CUDA graphs, autocast, error messages (about 4 minutes before the ragged part, which is not yet
#          timed); CHECK_PARTS="ragged" runs some of its parts only
#   train  examples/python/train_lm.py: the small LM on attnc against FlexAttention (about 2.5 minutes;
#          MODE=reduce-overhead compiles both models into CUDA graphs)
#   perf   torch_check.py's perf part: forward and forward+backward against compiled FlexAttention on
#          B=4 H=16 N=4096 D=64 and B=2 H=16 N=8192 D=128 (about 4 minutes, mostly Flex compiling)
# Everything together passes a device call's 10 minutes, so run it as two calls:
#   STAGES="check train" bash bench/gpu/run_torch.sh $OUT      then      STAGES=perf bash bench/gpu/run_torch.sh $OUT
# Logs go to $1 (export.log, check.log, train.log, perf.log, torch_check.json, torch_perf.json, train_lm.json).
set -u
out="$1"; d=.device
stages=${STAGES:-"check train perf"}
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g -cp "$d/cli/*")
pkgs=${PKGS:-/tmp/attnc_torch_packages}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1
python3 -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)" 2>&1 | tail -1

if [ -z "${PKGS:-}" ]; then
  echo "== export"
  rm -rf "$pkgs" && mkdir -p "$pkgs"
  for f in bench/gpu/patterns/*.attn examples/gated.attn examples/softmax_sink.attn examples/python/lm_attention.attn; do
    timeout 120 "${java[@]}" attnc.cli.Main export "$f" --target torch -o "$pkgs" >> "$out/export.log" 2>&1 || echo "export of $f failed (rc $?): see export.log"
  done
  ls "$pkgs"
fi

for stage in $stages; do
  case "$stage" in
    check)
      echo "== check"
      PARTS="${CHECK_PARTS:-check paged ragged meta compile graphs autocast errors arch}" PYTHONUNBUFFERED=1 timeout ${CHECK_S:-400} \
        python3 bench/gpu/torch_check.py "$pkgs" "$out" > "$out/check.log" 2>&1
      echo "rc $?" >> "$out/check.log"
      grep -E "^(ok|FAIL|PART|SUMMARY|rc|stats|torch|   |     )" "$out/check.log" | cut -c1-400 | head -150 ;;
    train)
      echo "== train"
      PYTHONUNBUFFERED=1 timeout ${TRAIN_S:-240} python3 examples/python/train_lm.py --packages "$pkgs" --steps ${STEPS:-300} --out "$out" ${MODE:+--mode $MODE} \
        > "$out/train.log" 2>&1
      echo "rc $?" >> "$out/train.log"
      grep -vE "^\s+at |^  (attnc|flex) +step" "$out/train.log" | tail -30 ;;
    perf)
      echo "== perf"
      mv -f "$out/torch_check.json" "$out/torch_check_check.json" 2>/dev/null
      PARTS=perf PYTHONUNBUFFERED=1 timeout ${PERF_S:-420} python3 bench/gpu/torch_check.py "$pkgs" "$out" > "$out/perf.log" 2>&1
      echo "rc $?" >> "$out/perf.log"
      grep -vE "^\s+File |^\s+\^" "$out/perf.log" | cut -c1-400 | tail -45 ;;
    *) echo "unknown stage $stage (check, train, perf)" ;;
  esac
done
