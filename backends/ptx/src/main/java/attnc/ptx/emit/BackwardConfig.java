package attnc.ptx.emit;

import attnc.ir.DType;

/**
 * The shape of one backward kernel: target, input precision, head dims and the tiling
 * (FlashAttention-2's backward on mma.sync): a block of {@code warps} warps owns 16 keys a warp
 * ({@link #blockKv}) and walks query tiles of {@code blockQ} rows, Q and dO double-buffered with
 * cp.async while K and V stay in shared memory. {@code forwardOutput}: the precision the forward
 * stored O in, which Δ = rowsum(dO∘O) reads (float32 from {@link attnc.launch.Result}, the input
 * dtype from an exported kernel called by PyTorch). {@code keyGradients}: the precision dK and dV
 * are stored in (float32 for {@link attnc.launch.Result}'s callers; the input dtype for PyTorch,
 * whose gradients of bf16 keys and values are bf16: storing them so saves it a conversion copy of
 * each, BENCHMARKS.md). {@code wgmma}: the Hopper kernel
 * ({@link WgmmaBackwardEmitter}, sm_90a): two consumer warpgroups of 64 keys (8 warps, 128 keys)
 * and a producer warpgroup copying with TMA, 64-query tiles, head dims 64 or 128.
 * {@code deterministic}: gradients bitwise the same on every run. Each query tile's dQ takes its
 * kv blocks' adds one block at a time, the last kv tile first (a turn counter per tile, the
 * block's rank among the tile's visitors from {@link attnc.ptx.BackwardTilePlan#ranks}); row sums
 * and input gradients are added as exact fixed-point sums ({@link ExactSums}), whose value does
 * not depend on the order; dK and dV are stored once, by the block that owns their rows.
 */
public record BackwardConfig(int sm, DType dtype, int headDim, int valueDim, int blockQ, int warps, DType forwardOutput, DType keyGradients,
                             boolean wgmma, boolean deterministic) {
    /**
     * The most registers a thread's dK and dV accumulators may take, (D + Dv) / 2: each warp holds
     * its 16 keys' rows of both. At 160 (D = 192 with Dv = 128, as MLA's, or D = Dv = 160) the
     * kernels of 32-query tiles assemble with at most 20 bytes of spills at 192 / 128 and 100 at
     * 256 / 64 ({@code ptxas -arch=sm_90a -v}, causal, ALiBi, gated, softcap); D = Dv = 256 would
     * need 256 and spills a kilobyte, so it is refused.
     */
    public static final int MAX_ACCUMULATORS = 160;

    public BackwardConfig {
        if (sm < 80) throw new IllegalArgumentException("the PTX backend needs sm_80 or newer (mma.sync bf16, cp.async), got sm_" + sm);
        if (dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) throw new IllegalArgumentException("inputs must be bfloat16 or float16, got " + dtype);
        String refusal = headDimRefusal(headDim, valueDim);
        if (refusal != null) throw new IllegalArgumentException(refusal);
        if (blockQ != 32 && blockQ != 64) throw new IllegalArgumentException("query tiles of 32 or 64 rows, got " + blockQ);
        if (warps != 4 && warps != 8) throw new IllegalArgumentException("4 or 8 warps, got " + warps);
        if (forwardOutput != DType.FLOAT32 && forwardOutput != dtype) {
            throw new IllegalArgumentException("the forward's output is float32 or the input dtype, got " + forwardOutput);
        }
        if (keyGradients != DType.FLOAT32 && keyGradients != dtype) {
            throw new IllegalArgumentException("dK and dV are stored as float32 or the input dtype, got " + keyGradients);
        }
        if (wgmma) {
            if (sm < 90) throw new IllegalArgumentException("the wgmma backward needs sm_90a, got sm_" + sm);
            if (blockQ != 64 || warps != 8) throw new IllegalArgumentException("the wgmma backward has 64-query tiles and two warpgroups (8 warps)");
            if (headDim != valueDim || headDim % 64 != 0) {
                throw new IllegalArgumentException("the wgmma backward takes D = Dv = 64 or 128, got D = " + headDim + ", Dv = " + valueDim);
            }
        }
    }

    /** Why the GPU backward cannot take head dims D and Dv (after padding to multiples of 16), or null when it can. */
    public static String headDimRefusal(int headDim, int valueDim) {
        for (int dim : new int[] {headDim, valueDim}) {
            if (dim % 16 != 0 || dim < 16) return "the GPU backward takes head dims that are multiples of 16 (after padding), got " + dim;
        }
        if ((headDim + valueDim) / 2 > MAX_ACCUMULATORS) {
            return "the GPU backward takes head dims with D + Dv up to " + 2 * MAX_ACCUMULATORS + " (dK's and dV's rows are held a warp), got D = "
                    + headDim + ", Dv = " + valueDim;
        }
        return null;
    }

    /**
     * The tilings that measured fastest on the H200 with every gradient checked (BENCHMARKS.md,
     * "GPU: the backward"): on sm_90a where D = Dv is 64 or 128, the wgmma kernel (run 4 of
     * 2026-12-02, timed as do_bench: D = 64 dense 251 against 221 TFLOP/s for the best mma.sync
     * tiling, causal 228 / 196, sliding window 186 / 172, softcap 228 / 208, document level; ALiBi
     * 229 / 163 without the slopes' gradient and 154 / 163 with it; D = 128 dense 401 / 247);
     * otherwise mma.sync (below).
     */
    public static BackwardConfig of(int sm, DType dtype, int headDim, int valueDim) {
        BackwardConfig mma = mmaSync(sm, dtype, headDim, valueDim);
        return sm >= 90 && headDim == valueDim && headDim % 64 == 0 && headDim <= 128 ? mma.withWgmma() : mma;
    }

    /** The fastest mma.sync tiling of {@link #of}: what runs where TMA tensor maps cannot be made (an exported module). */
    public static BackwardConfig mmaSync(int sm, DType dtype, int headDim, int valueDim) {
        if (Math.max(headDim, valueDim) <= 64) return new BackwardConfig(sm, dtype, headDim, valueDim, 64, 4, DType.FLOAT32, DType.FLOAT32, false, false);
        // Past 128 + 128, 32-query tiles: at D = 192, Dv = 128 (B = 2, H = 16, N = 8192) they ran the fastest on ALiBi, softcap
        // and document and within 5% of 64-query tiles (which spill 132–648 bytes) on dense, causal and sliding window.
        if (sm >= 90) return new BackwardConfig(sm, dtype, headDim, valueDim, headDim + valueDim <= 256 ? 64 : 32, 8, DType.FLOAT32, DType.FLOAT32, false, false);
        return new BackwardConfig(sm, dtype, headDim, valueDim, 32, 4, DType.FLOAT32, DType.FLOAT32, false, false);
    }

    /** Keys a block owns: 16 a warp. */
    public int blockKv() { return 16 * warps; }

    /** The consumer warps' threads, and the wgmma kernel's producer warpgroup. */
    public int threads() { return 32 * warps + (wgmma ? KernelConfig.PRODUCER_THREADS : 0); }

    public BackwardConfig withForwardOutput(DType output) {
        return new BackwardConfig(sm, dtype, headDim, valueDim, blockQ, warps, output, keyGradients, wgmma, deterministic);
    }

    /** The same kernel storing dK and dV in {@code precision}. */
    public BackwardConfig withKeyGradients(DType precision) {
        return new BackwardConfig(sm, dtype, headDim, valueDim, blockQ, warps, forwardOutput, precision, wgmma, deterministic);
    }

    /** The wgmma kernel at the same head dims and precisions. */
    public BackwardConfig withWgmma() { return new BackwardConfig(sm, dtype, headDim, valueDim, 64, 8, forwardOutput, keyGradients, true, deterministic); }

    /** The same kernel with bitwise-reproducible gradients. */
    public BackwardConfig withDeterministic() { return new BackwardConfig(sm, dtype, headDim, valueDim, blockQ, warps, forwardOutput, keyGradients, wgmma, true); }

    /** bf16 or f16, as mma.sync spells it. */
    String mmaType() { return dtype == DType.FLOAT16 ? "f16" : "bf16"; }

    /** Row strides in shared memory, padded by 16 bytes so that ldmatrix's eight rows fall in different banks. */
    int kStride() { return 2 * headDim + 16; }
    int vStride() { return 2 * valueDim + 16; }
    int dsStride() { return 2 * blockQ + 16; }

    int kBytes() { return blockKv() * kStride(); }
    int vBytes() { return blockKv() * vStride(); }
    int qStageBytes() { return blockQ * kStride(); }
    int doStageBytes() { return blockQ * vStride(); }

    /** Per stage, the tile's LSE and Δ (fp32). */
    int rowStageBytes() { return 2 * 4 * blockQ; }

    /**
     * The wgmma kernel's dQ: each consumer warpgroup stages its half of the query tile's columns
     * (float32 sums) in shared memory, which TMA adds into dq in boxes of this many columns
     * (128 bytes, the widest box a 128-byte swizzle takes).
     */
    public static final int DQ_BOX_COLUMNS = 32;

    /** One warpgroup's dQ staging tile: blockQ rows of half the head dim's float32 columns. */
    int dqStageBytes() { return blockQ * headDim / 2 * 4; }

    /**
     * K, V, two stages of Q, of dO and of the rows' LSE and Δ, and the block's dx tile; the wgmma
     * kernel's are unpadded 128-byte-swizzled tiles from a 1024-aligned base, a dS tile a stage,
     * two dQ staging tiles and its mbarriers.
     */
    public int sharedBytes() {
        if (wgmma) return 1024 + swizzledBytes(blockKv(), headDim) + swizzledBytes(blockKv(), valueDim) + 2 * swizzledBytes(blockQ, headDim)
                + 2 * swizzledBytes(blockQ, valueDim) + 2 * rowStageBytes() + 2 * swizzledBytes(blockQ, blockKv()) + 2 * dqStageBytes() + 64;
        return kBytes() + vBytes() + 2 * qStageBytes() + 2 * doStageBytes() + 2 * rowStageBytes() + blockKv() * dsStride();
    }

    /** A rows × width tile as 64-column chunks of 128-byte rows. */
    static int swizzledBytes(int rows, int width) { return rows * 2 * width; }

    public String tag() {
        return "sm" + sm + "_" + mmaType() + "_d" + headDim + (valueDim == headDim ? "" : "_dv" + valueDim) + "_backward_q" + blockQ + "_kv" + blockKv()
                + (forwardOutput == DType.FLOAT32 ? "" : "_o16") + (keyGradients == DType.FLOAT32 ? "" : "_dkv16") + (wgmma ? "_wgmma" : "") + (deterministic ? "_deterministic" : "");
    }
}
