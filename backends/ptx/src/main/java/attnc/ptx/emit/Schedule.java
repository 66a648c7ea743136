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
    /**
     * MLA's decode (sm_90): mma.sync, eight warps sharing the block's rows. Each warp multiplies S
     * for its eighth of the tile's keys over the whole head dim; the tile's row maxima meet in shared
     * memory, and so do the weights P, from which each warp accumulates its own eighth of O's
     * columns. V is K's first Dv columns, read from K's tile: the one latent cache is read once, and
     * no warp holds more than 16 + Dv / 32 accumulators a row slice, where a head dim of 576 would
     * leave a warp that owned its rows' whole output 256 of them.
     */
    MMA_SYNC_COLUMNS,
    /** Each tile in turn: S, softmax, P·V; the consumer warpgroups alternate by themselves. */
    WGMMA,
    /** S for the next tile and P·V for the last one issued together; the softmax runs under P·V. */
    WGMMA_OVERLAP,
    /** As {@link #WGMMA_OVERLAP}, with the two consumer warpgroups taking turns to issue (ping-pong). */
    WGMMA_PINGPONG;

    public boolean wgmma() { return this != MMA_SYNC && this != MMA_SYNC_COLUMNS; }

    /** Whether warps split O's columns and read V from K's tile ({@link #MMA_SYNC_COLUMNS}). */
    public boolean columns() { return this == MMA_SYNC_COLUMNS; }

    public boolean overlap() { return this == WGMMA_OVERLAP || this == WGMMA_PINGPONG; }

    public boolean pingPong() { return this == WGMMA_PINGPONG; }

    /** A short name for tags and tuning knobs. */
    public String key() {
        return switch (this) {
            case MMA_SYNC -> "mma";
            case MMA_SYNC_COLUMNS -> "mmac";
            case WGMMA -> "wg";
            case WGMMA_OVERLAP -> "wgo";
            case WGMMA_PINGPONG -> "wgp";
        };
    }
}
