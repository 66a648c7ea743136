package attnc.launch;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Combines {@link Partial} results over disjoint sets of keys into the result over their union:
 * split-KV decoding, cascade attention (a shared prefix and each sequence's own keys) and
 * context parallelism (keys spread over devices). Per row, with partials (o_i, lse_i):
 *
 * <pre>
 *   lse = log Σ e^lse_i          o = Σ e^(lse_i − lse) · o_i
 * </pre>
 *
 * computed in double precision against the largest lse_i. Rows where every lse_i is −∞ (no key
 * visible in any part) stay empty: o = 0, lse = −∞, never NaN. Partials without an LSE (sigmoid,
 * no normalisation) add: o = Σ o_i. The rule is associative and commutative, so parts may be
 * merged in any grouping and order with the same result up to rounding, and one part merges to
 * itself.
 *
 * <p>A sink logit z behaves as one more partial with o = 0 and lse = z: it must be counted once,
 * so partials never contain it ({@link Partial}); {@code Kernel.finish} adds it after the last
 * merge, with the output transform. A row with no visible key then gets lse = z and output 0.
 */
public final class Merge {
    private Merge() {}

    /** The merged partial, in fresh float32 tensors of the parts' shape. */
    public static Partial merge(List<Partial> parts) {
        requireParts(parts);
        Partial first = parts.getFirst();
        Tensor out = Tensor.allocate(DType.FLOAT32, first.out().shape());
        Tensor lse = first.lse() == null ? null : Tensor.allocate(DType.FLOAT32, first.lse().shape());
        merge(parts, out, lse);
        return new Partial(out, lse);
    }

    /**
     * Merges into the caller's tensors: {@code out} of the parts' shape (float32, bfloat16 or
     * float16, any layout) and {@code lse} float32 (null exactly when the parts have none).
     * Everything is checked before anything is written.
     */
    public static void merge(List<Partial> parts, Tensor out, Tensor lse) {
        requireParts(parts);
        Partial first = parts.getFirst();
        if (out == null) throw new ShapeException("merge out: missing; expected a float tensor " + first.out().shapeText());
        if (!Arrays.equals(out.shape(), first.out().shape())) {
            throw new ShapeException("merge out: expected shape " + first.out().shapeText() + " (the partials'), got " + out.shapeText());
        }
        if ((lse == null) != (first.lse() == null)) {
            throw new ShapeException("merge lse: " + (lse == null ? "missing; the partials have an LSE, expected a float32 tensor " + first.lse().shapeText()
                    : "expected none (null): the partials have no LSE"));
        }
        requireWritable("merge out", out, out.dtype() == DType.FLOAT32 || out.dtype() == DType.BFLOAT16 || out.dtype() == DType.FLOAT16, "float32, bfloat16 or float16");
        if (lse != null) requireWritable("merge lse", lse, lse.dtype() == DType.FLOAT32 && Arrays.equals(lse.shape(), first.lse().shape()), "float32 " + first.lse().shapeText());
        int width = out.dim(out.rank() - 1), rows = width == 0 ? 0 : out.size() / width;
        float[][] outs = new float[parts.size()][], lses = new float[parts.size()][];
        for (int p = 0; p < outs.length; p++) {
            outs[p] = parts.get(p).out().floats();
            lses[p] = lse == null ? null : parts.get(p).lse().floats();
        }
        float[] merged = new float[out.size()];
        float[] mergedLse = lse == null ? null : new float[rows];
        double[] acc = new double[width];
        for (int r = 0; r < rows; r++) {
            Arrays.fill(acc, 0);
            if (lse == null) {
                for (float[] o : outs) for (int c = 0; c < width; c++) acc[c] += o[r * width + c];
            } else {
                double top = Double.NEGATIVE_INFINITY;
                for (float[] l : lses) top = Math.max(top, l[r]);
                double sum = 0;
                if (top != Double.NEGATIVE_INFINITY) {
                    for (int p = 0; p < outs.length; p++) {
                        double w = Math.exp(lses[p][r] - top);
                        sum += w;
                        for (int c = 0; c < width; c++) acc[c] += w * outs[p][r * width + c];
                    }
                    for (int c = 0; c < width; c++) acc[c] /= sum;
                }
                mergedLse[r] = top == Double.NEGATIVE_INFINITY ? Float.NEGATIVE_INFINITY : (float) (top + Math.log(sum));
            }
            for (int c = 0; c < width; c++) merged[r * width + c] = (float) acc[c];
        }
        out.copyFrom(merged);
        if (lse != null) lse.copyFrom(mergedLse);
    }

    private static void requireWritable(String name, Tensor t, boolean fits, String expected) {
        if (!fits) throw new ShapeException(name + ": expected " + expected + ", got " + t.dtype() + t.shapeText());
        if (t.storage() instanceof Tensor.Storage.Segment(java.lang.foreign.MemorySegment s) && s.isReadOnly()) {
            throw new ShapeException(name + ": the segment is read-only; expected writable memory");
        }
    }

    private static void requireParts(List<Partial> parts) {
        if (parts == null || parts.isEmpty()) throw new ShapeException("merge: expected at least one partial, got none");
        Partial first = parts.getFirst();
        for (int p = 0; p < parts.size(); p++) {
            Partial part = parts.get(p);
            if (part == null) throw new ShapeException("merge: partial " + p + " is missing (null)");
            if (!Arrays.equals(part.out().shape(), first.out().shape())) {
                throw new ShapeException("merge: partial " + p + " has out " + part.out().shapeText() + "; expected " + first.out().shapeText() + " as partial 0");
            }
            if ((part.lse() == null) != (first.lse() == null)) {
                throw new ShapeException("merge: partial " + p + (part.lse() == null ? " has no LSE and partial 0 has one" : " has an LSE and partial 0 has none")
                        + "; expected all softmax partials (with LSE) or all sums (without)");
            }
        }
    }
}
