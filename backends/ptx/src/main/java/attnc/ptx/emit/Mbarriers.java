package attnc.ptx.emit;

/**
 * The Hopper kernels' asynchronous traffic: TMA copies that complete on an mbarrier, waits on a
 * barrier's phase and arrivals, as the forward ({@link WgmmaEmitter}) and backward
 * ({@link WgmmaBackwardEmitter}) producers and consumers use them.
 */
final class Mbarriers {
    private Mbarriers() {}

    /** Waits until the barrier's phase of the given parity has completed. */
    static void waitParity(PtxWriter out, String barrier, String parity) {
        String again = out.newLabel("wait"), ready = out.pred("%barrier_ready");
        out.label(again);
        out.op("mbarrier.try_wait.parity.shared::cta.b64", ready, "[" + barrier + "]", parity);
        out.op("@!" + ready + " bra", again);
    }

    /** This thread is done with a stage's buffer. */
    static void arrive(PtxWriter out, String barrier) {
        out.op("mbarrier.arrive.shared::cta.b64", "_", "[" + barrier + "]");
    }

    /** A bulk tensor copy of one box (64 columns × rows × 1) at (column chunk, row, head) into shared memory. */
    static void copy(PtxWriter out, String shared, int offset, String map, int chunk, String row, String head, String barrier) {
        String dst = out.u32("%tma_dst"), column = out.s32("%tma_col");
        out.op("add.u32", dst, shared, offset);
        out.op("mov.s32", column, chunk * KernelConfig.SWIZZLE_ELEMENTS);
        out.op("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes",
                "[" + dst + "]", "[" + map + ", {" + column + ", " + row + ", " + head + "}]", "[" + barrier + "]");
    }

    /** {@code %smem}: the dynamic shared memory's base rounded up to 1024 bytes, where the 128-byte swizzle pattern repeats. */
    static String alignedBase(PtxWriter out) {
        String base = out.u32("%smem");
        out.op("mov.u32", base, "attnc_smem");
        out.op("add.u32", base, base, 1023);
        out.op("and.b32", base, base, -1024);
        return base;
    }

    /** The producer warpgroup (the block's first {@link KernelConfig#PRODUCER_THREADS} threads) runs {@code producer}, the rest {@code consumers}. */
    static void splitRoles(PtxWriter out, Runnable consumers, Runnable producer) {
        String label = out.newLabel("producer");
        out.op("setp.lt.u32", out.pred("%is_producer"), "%tid_x", KernelConfig.PRODUCER_THREADS);
        out.op("@%is_producer bra.uni", label);
        consumers.run();
        out.label(label);
        producer.run();
    }
}
