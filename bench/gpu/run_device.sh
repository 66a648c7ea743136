#!/usr/bin/env bash
# One device call, from the root of a checkout that carries .device (make_bundle.sh):
# the exported-PTX Python check, DeviceCheck's correctness part (analysis-built tile lists),
# and `attnc tune` (kernel-only timing on the GPU) for dense and causal. Logs go to $1.
set -u
out="$1"; d=.device
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$d/cli/*")
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1
python3 -c "import torch, cupy; print('torch', torch.__version__, 'cupy', cupy.__version__, torch.cuda.get_device_name(0))" >> "$out/gpu.txt" 2>&1

echo "== export + Python" | tee "$out/python.log"
for p in dense causal sliding_window document softcap; do
  "${java[@]}" attnc.cli.Main export examples/$p.attn --target ptx -o "$out/exported" >> "$out/export.log" 2>&1
done
py="python3 $d/python/run_exported_ptx.py $out/exported"
{
  $py causal --B 2 --H 8 --Hkv 2 --N 1000 --D 64
  $py causal --B 2 --H 16 --Hkv 16 --N 4096 --D 128
  $py sliding_window --B 1 --H 4 --Hkv 4 --N 4096 --D 128 --param window=256
  $py document --B 2 --H 4 --Hkv 2 --N 4096 --D 64
  $py dense --B 1 --H 4 --Hkv 1 --Nq 77 --N 300 --D 128
  $py softcap --B 2 --H 4 --Hkv 4 --N 2048 --D 64
} >> "$out/python.log" 2>&1
cat "$out/python.log"

echo "== DeviceCheck (correctness, tile lists)"
timeout 200 "${java[@]}" attnc.bench.gpu.DeviceCheck "$out/run" - examples/*.attn bench/gpu/patterns/*.attn backends/ptx/src/test/resources/patterns/*.attn > "$out/devicecheck.log" 2>&1
echo "rc $?" >> "$out/devicecheck.log"; grep -E "FAIL|tile lists|PASSED|rc " "$out/devicecheck.log" | head -60

echo "== attnc tune (kernel-only timing)"
for p in dense causal; do
  timeout 140 "${java[@]}" attnc.cli.Main tune examples/$p.attn --backend ptx --shape 4,16,4096,4096,64 --dtype bfloat16 \
    --warmup 10 --repeats 30 --cache "$out/tuning.json" > "$out/tune_$p.log" 2> "$out/tune_$p.err"
  echo "rc $?" >> "$out/tune_$p.log"; cat "$out/tune_$p.log"
done
"${java[@]}" attnc.cli.Main tune --report --cache "$out/tuning.json" > "$out/tune_report.txt" 2>&1; cat "$out/tune_report.txt"
