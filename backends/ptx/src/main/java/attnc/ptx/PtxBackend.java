package attnc.ptx;

import attnc.gpu.Cuda;
import attnc.gpu.Device;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.lower.LowerPattern;
import attnc.ptx.emit.KernelConfig;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import java.util.List;
import java.util.Map;

/** The GPU backend: PTX text rendered per pattern, JIT-loaded and launched through JCuda. */
public final class PtxBackend implements Backend {
    @Override public String name() { return "ptx"; }

    /** True only where a CUDA driver and a device exist; the classes load without either. */
    @Override public boolean available() { return Cuda.available(); }

    /** A {@code tile:} section is checked here as far as it can be without the head dims (the rest at launch, before any device work). */
    @Override
    public Kernel compile(Pattern pattern) {
        pattern.tile().ifPresent(t -> KernelConfig.checkTile(t.q(), t.kv()));
        return new PtxKernel(LowerPattern.lower(pattern), new TuningConfig(Map.of()));
    }

    /** Head dims with D + Dv up to 320 ({@link PtxKernel#backward} refuses the rest with the reason). */
    @Override public boolean hasBackward() { return true; }

    /** Q, K, V and the weights P go through bf16 (8 significant bits): about 4e-3 relative. */
    @Override public double precision() { return 4e-3; }

    /** {@code <pattern>.ptx} (D=64), {@code <pattern>_d128.ptx} and {@code kernel.json}; see {@link PtxExport}. */
    @Override public Map<String, byte[]> export(Pattern pattern) { return PtxExport.files(LowerPattern.lower(pattern), PtxExport.ARCHITECTURES); }

    @Override
    public Map<String, byte[]> export(Pattern pattern, List<String> architectures) {
        return PtxExport.files(LowerPattern.lower(pattern), architectures.isEmpty() ? PtxExport.ARCHITECTURES : PtxExport.architectures(architectures));
    }

    /** The tilings of {@link TuningSpace} that fit this device (sm_80 limits where there is no GPU). */
    @Override
    public List<TuningConfig> configurations(Pattern pattern, Binding binding) {
        if (pattern.tile().isPresent()) return defaultConfiguration(pattern, binding).stream().toList();
        return TuningSpace.configurations(LowerPattern.lower(pattern), HeadPadding.of(binding).binding(binding), available() ? Device.get(0).sm() : 80);
    }

    /** The tiling this device (sm_90 where there is none) runs for the launch's head dims. */
    @Override
    public java.util.Optional<String> plan(Pattern pattern, Binding binding) {
        int sm = available() ? Device.get(0).sm() : 90;
        HeadPadding dims = HeadPadding.of(binding);
        KernelConfig c = KernelConfig.of(LowerPattern.lower(pattern), sm, attnc.ir.DType.BFLOAT16, HeadPadding.padded(dims.d()), HeadPadding.padded(dims.dv()));
        String schedule = c.schedule().wgmma() ? c.schedule().name().toLowerCase(java.util.Locale.ROOT) + " (TMA, " + c.consumerGroups() + " consumer warpgroups)"
                : "mma.sync (" + c.warps() + " warps)";
        return java.util.Optional.of("sm_" + sm + (c.schedule().wgmma() ? "a" : "") + (available() ? "" : " (no GPU here)") + ": " + c.blockM() + " x "
                + c.blockN() + " tiles, " + schedule + ", " + c.stages() + " stages" + (pattern.tile().isPresent() ? " (the pattern's tile: section)" : "")
                + (dims.pads() ? ", head dims padded with zero columns to D = " + c.headDim() + ", Dv = " + c.valueDim() : ""));
    }

    /** The tiling {@link #compile(Pattern)} uses on this device, in the tuning space's knobs. */
    @Override
    public java.util.Optional<TuningConfig> defaultConfiguration(Pattern pattern, Binding binding) {
        KernelConfig standard = KernelConfig.of(LowerPattern.lower(pattern), available() ? Device.get(0).sm() : 80, attnc.ir.DType.BFLOAT16,
                HeadPadding.padded(binding.size("D")), HeadPadding.padded(binding.size("Dv")));
        return java.util.Optional.of(TuningSpace.knobsOf(standard));
    }

    @Override
    public Kernel compile(Pattern pattern, TuningConfig config) {
        TuningSpace.check(config);  // unknown knobs fail here, not at the first launch
        return new PtxKernel(LowerPattern.lower(pattern), config);
    }

    @Override
    public String device() { return available() ? Device.get(0).name().replace(' ', '_') : "no-gpu"; }
}
