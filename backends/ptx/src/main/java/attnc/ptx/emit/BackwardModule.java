package attnc.ptx.emit;

import attnc.lower.LoweredBackward;
import attnc.lower.LoweredNorm;

/**
 * One pattern's backward as a PTX module for one {@link BackwardConfig}: the main kernel and,
 * where the pattern needs them, the kernels over rows before it (Δ for softmax; dO through the
 * output transform, {@code transformsOutput}, which the main kernel then reads) and after it (the
 * gradients of inputs the scale or the norm's value read), and for masked patterns the tile
 * classifier ({@code classifies}); a deterministic one also the kernel that rounds its exact sums
 * ({@link #FINISH_ENTRY}). Like {@link PtxModule}, the text depends only on the pattern
 * and the config.
 */
public record BackwardModule(String text, BackwardConfig config, boolean hasDelta, boolean hasRows, boolean transformsOutput, boolean classifies,
                             Signature signature,
                             Signature deltaSignature, Signature rowsSignature) {
    public static final String BACKWARD_ENTRY = BackwardEmitter.ENTRY;
    public static final String DELTA_ENTRY = BackwardRowsEmitter.DELTA_ENTRY;
    public static final String ROWS_ENTRY = BackwardRowsEmitter.ROWS_ENTRY;
    /** The backward's tile classifier (masked patterns): block x = kv tile, y = slot, {@link ClassifyEmitter#THREADS} threads, the main kernel's arguments. */
    public static final String CLASSIFY_ENTRY = ClassifyEmitter.BACKWARD_ENTRY;
    public static final int CLASSIFIER_THREADS = ClassifyEmitter.THREADS;
    public static final int DELTA_ROWS_PER_BLOCK = BackwardRowsEmitter.DELTA_ROWS_PER_BLOCK;
    public static final int ROW_THREADS = BackwardRowsEmitter.THREADS;
    /** Rows of the row-gradient buffer [ROW_SUMS, B, H, Nq]. */
    public static final int ROW_SUMS = 2;
    /** The deterministic module's kernel rounding exact sums to fp32: (exact, sums, count), one thread an element. */
    public static final String FINISH_ENTRY = ExactSums.FINISH_ENTRY;
    public static final int FINISH_THREADS = ExactSums.FINISH_THREADS;
    /** Bytes of one exact sum (the deterministic module's row sums and input gradients). */
    public static final int EXACT_BYTES = ExactSums.BYTES;

    public static BackwardModule render(LoweredBackward backward, BackwardConfig config) {
        boolean transform = !backward.forward().identityOutput();
        boolean delta = backward.forward().norm() instanceof LoweredNorm.Softmax || transform;
        boolean rows = BackwardRowsEmitter.hasRowSites(backward);
        StringBuilder text = new StringBuilder();
        text.append("//\n// attnc ").append(backward.forward().name()).append(": backward, ").append(config.tag()).append("\n");
        // Vector reductions (red.global.add.v2.f32) need PTX 8.1 and sm_90.
        // wgmma, setmaxnreg and stmatrix's use here exist only for sm_90a; the swizzled tiles want a 1024-aligned base.
        text.append("//\n.version ").append(config.sm() >= 90 ? "8.1" : "8.0").append("\n.target sm_").append(config.sm()).append(config.wgmma() ? "a" : "")
                .append("\n.address_size 64\n\n");
        text.append("// dynamic shared memory: ").append(config.sharedBytes()).append(" bytes per block\n");
        text.append(".extern .shared .align ").append(config.wgmma() ? 1024 : 16).append(" .b8 attnc_smem[];\n\n");
        text.append(config.wgmma() ? WgmmaBackwardEmitter.render(backward, config) : BackwardEmitter.render(backward, config));
        if (delta) text.append("\n").append(BackwardRowsEmitter.delta(backward, config));
        if (rows) text.append("\n").append(BackwardRowsEmitter.rows(backward, config));
        boolean classifies = !backward.forward().alwaysVisible();
        if (classifies) text.append("\n").append(ClassifyEmitter.renderBackward(backward, config));
        if (config.deterministic()) text.append("\n").append(ExactSums.finish());
        return new BackwardModule(text.toString(), config, delta, rows, transform, classifies, BackwardElements.signature(backward, config),
                BackwardRowsEmitter.deltaSignature(backward), BackwardRowsEmitter.rowsSignature(backward));
    }
}
