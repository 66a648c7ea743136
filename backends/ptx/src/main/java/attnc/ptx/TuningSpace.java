package attnc.ptx;

import attnc.ir.DType;
import attnc.launch.Binding;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.BackwardConfig;
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

    static final List<Schedule> WGMMA_SCHEDULES = List.of(Schedule.WGMMA_OVERLAP, Schedule.WGMMA_PINGPONG);
    static final List<Integer> WGMMA_BLOCK_N = List.of(64, 96, 128, 192);
    static final List<Integer> GROUP_COUNTS = List.of(2, 3);

    /**
     * The mma.sync tilings, split-KV decoding for up to 64 queries and, from sm_90 on, the wgmma
     * ones: schedule (overlap, ping-pong) × consumer warpgroups (2, 3) × BLOCK_N × stages ×
     * exponentials on the FMA pipe (none, a quarter).
     */
    static List<TuningConfig> configurations(LoweredPattern pattern, Binding binding, int sm) {
        int d = binding.size("D"), dv = binding.size("Dv"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        KernelConfig mma = KernelConfig.of(sm, DType.BFLOAT16, d, dv);
        List<TuningConfig> space = new ArrayList<>();
        for (int warps : WARPS) {
            for (int mTiles : M_TILES) {
                for (int blockN : BLOCK_N) {
                    for (int stages : STAGES) {
                        TuningConfig knobs = knobs(warps, mTiles, blockN, stages);
                        KernelConfig c = apply(mma, knobs);
                        if (c.blockM() > nq || blockN > nkv) continue;
                        if (c.limitExceeded(sm) == null) space.add(knobs);
                    }
                }
            }
        }
        if (nq <= GpuDecode.BLOCK_ROWS) {
            for (int blockN : List.of(32, 64)) {
                for (int stages : STAGES) space.add(new TuningConfig(Map.of(DECODE, 1, "block_n", blockN, "stages", stages, WARP_KEYS, 0)));
            }
        }
        // Warps share a block's rows unpacked (blocks of 16 queries) or packed into one block of at most 16 rows.
        int packedRows = binding.size("H") / binding.size("Hkv") * nq;
        boolean packs = GpuDecode.packable(pattern) && packedRows <= GpuDecode.BLOCK_ROWS;
        if (nq <= GpuDecode.WARP_KEY_ROWS && (!packs || packedRows <= GpuDecode.WARP_KEY_ROWS)) {
            for (int blockN : List.of(64, 128)) {
                for (int stages : STAGES) space.add(new TuningConfig(Map.of(DECODE, 1, "block_n", blockN, "stages", stages, WARP_KEYS, 1)));
            }
        }
        if (sm < 90 || d % 16 != 0 || dv % 16 != 0) return space;
        for (Schedule schedule : WGMMA_SCHEDULES) {
            for (int groups : GROUP_COUNTS) {
                for (int blockN : WGMMA_BLOCK_N) {
                    for (int stages : STAGES) {
                        for (int fmaExp : new int[] {0, 1}) {
                            KernelConfig c = mma.withWgmma(schedule, groups, blockN, stages).withFmaExp(fmaExp);
                            if (c.blockM() > Math.max(nq, 128) || blockN > Math.max(nkv, 64) || c.limitExceeded(sm) != null) continue;
                            space.add(knobsOf(c));
                        }
                    }
                }
            }
        }
        return space;
    }

    /** The knobs that give {@code config} back through {@link #apply}. */
    static TuningConfig knobsOf(KernelConfig config) {
        if (!config.schedule().wgmma()) return knobs(config.warps(), config.mTiles(), config.blockN(), config.stages());
        return new TuningConfig(Map.of(SCHEDULE, config.schedule().ordinal(), GROUPS, config.consumerGroups(), "block_n", config.blockN(),
                "stages", config.stages(), FMA_EXP, config.fmaExp(), GROUP_BITS, config.groupBits() ? 1 : 0));
    }

    static TuningConfig knobs(int warps, int mTiles, int blockN, int stages) {
        return new TuningConfig(Map.of(SCHEDULE, Schedule.MMA_SYNC.ordinal(), "warps", warps, "m_tiles", mTiles, "block_n", blockN, "stages", stages));
    }

    static final String SCHEDULE = "schedule", FMA_EXP = "fma_exp", GROUPS = "consumer_groups";
    /** The overlapped wgmma kernels' lists with each warpgroup's own classes (1) or without (0); unset, {@link KernelConfig#withWgmma}'s rule. */
    static final String GROUP_BITS = "group_bits";
    /** Split-KV decoding: 1 forces it, 0 forbids it; unset, {@link PtxKernel} decides by the shape. */
    static final String DECODE = "decode";
    /** A decode block's warps sharing its rows and splitting each tile's keys (1) or each holding its own rows (0); unset, {@link GpuDecode#config}'s rule. */
    static final String WARP_KEYS = "warp_keys";
    /** The backward's tiling: query rows a tile (32, 64) and warps a block (4, 8: 64 or 128 keys), or the wgmma kernel (sm_90a, 1; 0 for mma.sync). */
    static final String BACKWARD_BLOCK_Q = "backward_block_q", BACKWARD_WARPS = "backward_warps", BACKWARD_WGMMA = "backward_wgmma";

    /**
     * {@code base} with the backward knobs a configuration sets: the wgmma kernel (1), or the
     * mma.sync one (0, or a query tile or warp count given), whose unset knobs keep the base's
     * values where it is an mma.sync tiling and 64 queries, 8 warps where it is the wgmma kernel.
     */
    static BackwardConfig applyBackward(BackwardConfig base, TuningConfig knobs) {
        check(knobs);
        int wgmma = knobs.get(BACKWARD_WGMMA, -1);
        if (wgmma == 1) return base.withWgmma();
        if (wgmma != 0 && !knobs.knobs().containsKey(BACKWARD_BLOCK_Q) && !knobs.knobs().containsKey(BACKWARD_WARPS)) return base;
        return new BackwardConfig(base.sm(), base.dtype(), base.headDim(), base.valueDim(), knobs.get(BACKWARD_BLOCK_Q, base.blockQ()),
                knobs.get(BACKWARD_WARPS, base.warps()), base.forwardOutput(), base.keyGradients(), false, base.deterministic());
    }

    /** Refuses knobs this space does not have, or a schedule that does not exist. */
    static void check(TuningConfig knobs) {
        for (String name : knobs.knobs().keySet()) {
            if (!List.of("warps", "m_tiles", "block_n", "stages", SCHEDULE, FMA_EXP, GROUPS, GROUP_BITS, BACKWARD_BLOCK_Q, BACKWARD_WARPS, BACKWARD_WGMMA,
                    DECODE, WARP_KEYS).contains(name)) {
                throw new IllegalArgumentException("unknown PTX tuning knob '" + name + "'; expected warps, m_tiles, block_n, stages, schedule, fma_exp, "
                        + "consumer_groups, " + GROUP_BITS + ", " + BACKWARD_BLOCK_Q + ", " + BACKWARD_WARPS + ", " + BACKWARD_WGMMA + ", " + DECODE + ", "
                        + WARP_KEYS);
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
            int groups = knobs.get(GROUPS, base.schedule().wgmma() ? base.consumerGroups() : 2);
            KernelConfig wgmma = base.withWgmma(schedule, groups, knobs.get("block_n", base.blockN()), knobs.get("stages", base.stages()))
                    .withFmaExp(knobs.get(FMA_EXP, base.fmaExp()));
            int bits = knobs.get(GROUP_BITS, -1);
            return bits < 0 ? wgmma : wgmma.withGroupBits(bits == 1);
        }
        KernelConfig mma = base.schedule().wgmma() ? KernelConfig.of(base.sm(), base.dtype(), base.headDim(), base.valueDim()).withOutput(base.output()) : base;
        return mma.withTiling(knobs.get("warps", mma.warps()), knobs.get("m_tiles", mma.mTiles()), knobs.get("block_n", mma.blockN()),
                knobs.get("stages", mma.stages()), mma.earlyMaskLoads());
    }
}
