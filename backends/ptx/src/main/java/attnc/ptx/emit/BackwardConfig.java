package attnc.ptx.emit;

import attnc.ir.DType;

/**
 * The shape of one backward kernel: target, input precision and head dims. The tiling is fixed
 * (FlashAttention-2's backward on mma.sync): a block owns {@link #BLOCK_KV} keys, each of its
 * {@link #WARPS} warps 16 of them, and walks query tiles of {@code blockQ} rows, Q and dO
 * double-buffered with cp.async while K and V stay in shared memory.
 */
public record BackwardConfig(int sm, DType dtype, int headDim, int valueDim, int blockQ) {
    public static final int BLOCK_KV = 64;
    public static final int WARPS = 4;
    public static final int THREADS = 32 * WARPS;
    /** The widest head dim whose dK and dV accumulators (D/2 + Dv/2 registers a thread) leave room for the rest. */
    public static final int MAX_HEAD_DIM = 128;

    public BackwardConfig {
        if (sm < 80) throw new IllegalArgumentException("the PTX backend needs sm_80 or newer (mma.sync bf16, cp.async), got sm_" + sm);
        if (dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) throw new IllegalArgumentException("inputs must be bfloat16 or float16, got " + dtype);
        for (int dim : new int[] {headDim, valueDim}) {
            if (dim % 16 != 0 || dim < 16 || dim > MAX_HEAD_DIM) {
                throw new IllegalArgumentException("the GPU backward takes head dims that are multiples of 16 up to " + MAX_HEAD_DIM + ", got " + dim);
            }
        }
        if (blockQ != 32 && blockQ != 64) throw new IllegalArgumentException("query tiles of 32 or 64 rows, got " + blockQ);
    }

    public static BackwardConfig of(int sm, DType dtype, int headDim, int valueDim) {
        return new BackwardConfig(sm, dtype, headDim, valueDim, 32);
    }

    /** bf16 or f16, as mma.sync spells it. */
    String mmaType() { return dtype == DType.FLOAT16 ? "f16" : "bf16"; }

    /** Row strides in shared memory, padded by 16 bytes so that ldmatrix's eight rows fall in different banks. */
    int kStride() { return 2 * headDim + 16; }
    int vStride() { return 2 * valueDim + 16; }
    int dsStride() { return 2 * blockQ + 16; }

    int kBytes() { return BLOCK_KV * kStride(); }
    int vBytes() { return BLOCK_KV * vStride(); }
    int qStageBytes() { return blockQ * kStride(); }
    int doStageBytes() { return blockQ * vStride(); }

    /** K, V, two stages of Q and of dO, and the block's dS tile. */
    public int sharedBytes() { return kBytes() + vBytes() + 2 * qStageBytes() + 2 * doStageBytes() + BLOCK_KV * dsStride(); }

    public String tag() { return "sm" + sm + "_" + mmaType() + "_d" + headDim + (valueDim == headDim ? "" : "_dv" + valueDim) + "_backward"; }
}
