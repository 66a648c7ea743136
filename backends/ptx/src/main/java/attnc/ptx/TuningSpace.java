package attnc.ptx;

import attnc.ir.DType;
import attnc.launch.Binding;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.Schedule;
import attnc.run.TuningConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The GPU tuning space: warps per block × 16-row m tiles per warp (BLOCK_M = 16 · warps ·
 * m_tiles), keys per tile (BLOCK_N) and cp.async stages, pruned before any timing of tilings that
 * cannot work: shared memory over the device's limit, accumulators that would spill, tiles
 * longer than the sequence.
 */
final class TuningSpace {
    static final List<Integer> WARPS = List.of(4, 8);
    static final List<Integer> M_TILES = List.of(1, 2);
    static final List<Integer> BLOCK_N = List.of(32, 64, 128);
    static final List<Integer> STAGES = List.of(2, 3);

    private TuningSpace() {}

    static List<TuningConfig> configurations(LoweredPattern pattern, Binding binding, int sm) {
        KernelConfig standard = KernelConfig.of(pattern, sm, DType.BFLOAT16, binding.size("D"), binding.size("Dv"));
        List<TuningConfig> space = new ArrayList<>();
        for (int warps : WARPS) {
            for (int mTiles : M_TILES) {
                for (int blockN : BLOCK_N) {
                    for (int stages : STAGES) {
                        TuningConfig knobs = knobs(warps, mTiles, blockN, stages);
                        KernelConfig c = apply(standard, knobs);
                        if (c.blockM() > binding.size("Nq") || blockN > binding.size("Nkv")) continue;
                        if (c.limitExceeded(sm) == null) space.add(knobs);
                    }
                }
            }
        }
        return space;
    }

    static TuningConfig knobs(int warps, int mTiles, int blockN, int stages) {
        return new TuningConfig(Map.of("warps", warps, "m_tiles", mTiles, "block_n", blockN, "stages", stages));
    }

    /** The Hopper path's knobs: the schedule (by {@link Schedule#ordinal}), keys per tile and stages. */
    static TuningConfig wgmmaKnobs(Schedule schedule, int blockN, int stages) {
        return new TuningConfig(Map.of(SCHEDULE, schedule.ordinal(), "block_n", blockN, "stages", stages));
    }

    static final String SCHEDULE = "schedule", FMA_EXP = "fma_exp";

    /** Refuses knobs this space does not have, or a schedule that does not exist. */
    static void check(TuningConfig knobs) {
        for (String name : knobs.knobs().keySet()) {
            if (!List.of("warps", "m_tiles", "block_n", "stages", SCHEDULE, FMA_EXP).contains(name)) {
                throw new IllegalArgumentException("unknown PTX tuning knob '" + name + "'; expected warps, m_tiles, block_n, stages, schedule, fma_exp");
            }
        }
        int ordinal = knobs.get(SCHEDULE, 0);
        if (ordinal < 0 || ordinal >= Schedule.values().length) {
            throw new IllegalArgumentException("unknown schedule " + ordinal + "; expected 0.." + (Schedule.values().length - 1));
        }
    }

    /** {@code base} with the knobs a configuration sets (unset knobs keep the base's values). */
    static KernelConfig apply(KernelConfig base, TuningConfig knobs) {
        check(knobs);
        Schedule schedule = Schedule.values()[knobs.get(SCHEDULE, base.schedule().ordinal())];
        if (schedule.wgmma()) {
            return base.withWgmma(schedule, knobs.get("block_n", base.blockN()), knobs.get("stages", base.stages()))
                    .withFmaExp(knobs.get(FMA_EXP, base.fmaExp()));
        }
        return base.withTiling(knobs.get("warps", base.warps()), knobs.get("m_tiles", base.mTiles()), knobs.get("block_n", base.blockN()),
                knobs.get("stages", base.stages()), base.earlyMaskLoads());
    }
}
