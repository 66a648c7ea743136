package attnc.ptx;

import attnc.launch.Binding;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * Head dims that are multiples of 8 but not of 16 (40, 72, 104, ...): the kernels' tiles take
 * 16 columns at a time, so such a launch runs at the next multiple of 16 with zero columns
 * appended to Q, K and V (a zero column adds nothing to q·k, and gives output columns that are
 * dropped), while the pattern still sees the D and Dv it was written for
 * ({@link LoweredPattern#withSizes}). A launch whose dims are multiples of 16 runs as it is.
 *
 * @param d  D as the caller gave it
 * @param dv Dv as the caller gave it
 */
record HeadPadding(int d, int dv) {

    static HeadPadding of(Binding binding) { return new HeadPadding(binding.size("D"), binding.size("Dv")); }

    static int padded(int dim) { return dim % 16 == 8 ? dim + 8 : dim; }

    boolean pads() { return padded(d) != d || padded(dv) != dv; }

    /** The binding the kernels run under: the padded head dims, every other size as given. */
    Binding binding(Binding logical) {
        if (!pads()) return logical;
        Map<String, Integer> sizes = new HashMap<>(logical.sizes());
        sizes.put("D", padded(d));
        sizes.put("Dv", padded(dv));
        return new Binding(Map.copyOf(sizes), logical.queryOffset(), logical.params());
    }

    LoweredPattern lowered(LoweredPattern lowered) { return pads() ? lowered.withSizes(Map.of("D", d, "Dv", dv)) : lowered; }

    LoweredBackward lowered(LoweredBackward lowered) { return pads() ? lowered.withSizes(Map.of("D", d, "Dv", dv)) : lowered; }

    /** {@code t} with zero columns appended to its last dimension up to the padded width (as it is when none are needed). */
    static Tensor pad(Tensor t) {
        int width = t.dim(t.rank() - 1), wide = padded(width);
        if (wide == width) return t;
        float[] from = t.floats(), to = new float[from.length / width * wide];
        for (int row = 0; row < from.length / width; row++) System.arraycopy(from, row * width, to, row * wide, width);
        int[] shape = t.shape();
        shape[shape.length - 1] = wide;
        return Tensor.ofFloats(t.dtype(), shape, to);
    }

    /** Rows of {@code padded(width)} floats cut back to {@code width}. */
    static float[] trim(float[] data, int width) {
        int wide = padded(width);
        if (wide == width || data == null) return data;
        float[] to = new float[data.length / wide * width];
        for (int row = 0; row < to.length / width; row++) System.arraycopy(data, row * wide, to, row * width, width);
        return to;
    }
}
