package attnc.cli;

import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.reference.Visibility;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * Which (q, kv) pairs a launch keeps, by the reference's own evaluation of the mask and selection
 * ({@link Visibility}): counted for {@code run}'s visible fraction, drawn by {@code plot}.
 */
final class VisibleElements {
    private VisibleElements() {}

    /** The number of visible (b, h, q, kv) elements in the given rows (flat (b·H + h)·Nq + qi; null for all). */
    static long count(Pattern pattern, Binding binding, Map<String, Tensor> inputs, int[] rows) {
        Visibility visibility = Visibility.of(pattern, binding, inputs);
        int heads = binding.size("H"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        long all = (long) binding.size("B") * heads * nq, count = 0;
        for (long slot = 0, end = rows == null ? all : rows.length; slot < end; slot++) {
            int flat = rows == null ? (int) slot : rows[(int) slot];
            int qi = flat % nq, h = flat / nq % heads, b = flat / nq / heads;
            for (int kv = 0; kv < nkv; kv++) if (visibility.visible(b, h, binding.queryOffset() + qi, kv)) count++;
        }
        return count;
    }

    /** The visibility of every (q, kv) at one batch and head: [Nq][Nkv]. */
    static boolean[][] grid(Pattern pattern, Binding binding, Map<String, Tensor> inputs, int b, int h) {
        Visibility visibility = Visibility.of(pattern, binding, inputs);
        int nq = binding.size("Nq"), nkv = binding.size("Nkv");
        boolean[][] visible = new boolean[nq][nkv];
        for (int qi = 0; qi < nq; qi++) for (int kv = 0; kv < nkv; kv++) visible[qi][kv] = visibility.visible(b, h, binding.queryOffset() + qi, kv);
        return visible;
    }
}
