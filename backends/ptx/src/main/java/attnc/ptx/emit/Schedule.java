package attnc.ptx.emit;

/**
 * How a kernel computes its products and feeds them. {@link #MMA_SYNC} is FlashAttention-2's
 * schedule (every warp loads with cp.async and multiplies with mma.sync; sm_80 on). The others are
 * the Hopper path (sm_90a): a producer warpgroup loads Q, K and V with TMA into swizzled shared
 * memory, signalling mbarriers, and two consumer warpgroups of 64 query rows each multiply with
 * wgmma, S = Q·Kᵀ from shared memory and O += P·V with P in registers. They differ in what runs
 * while the tensor cores work.
 */
public enum Schedule {
    MMA_SYNC,
    /** Each tile in turn: S, softmax, P·V; the consumer warpgroups alternate by themselves. */
    WGMMA,
    /** S for the next tile and P·V for the last one issued together; the softmax runs under P·V. */
    WGMMA_OVERLAP,
    /** As {@link #WGMMA_OVERLAP}, with the two consumer warpgroups taking turns to issue (ping-pong). */
    WGMMA_PINGPONG;

    public boolean wgmma() { return this != MMA_SYNC; }

    public boolean overlap() { return this == WGMMA_OVERLAP || this == WGMMA_PINGPONG; }

    public boolean pingPong() { return this == WGMMA_PINGPONG; }

    /** A short name for tags and tuning knobs. */
    public String key() {
        return switch (this) {
            case MMA_SYNC -> "mma";
            case WGMMA -> "wg";
            case WGMMA_OVERLAP -> "wgo";
            case WGMMA_PINGPONG -> "wgp";
        };
    }
}
