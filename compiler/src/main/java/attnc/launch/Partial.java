package attnc.launch;

import attnc.ir.DType;
import attnc.ir.Type;
import attnc.tensor.Tensor;
import java.util.Arrays;

/**
 * Attention over part of each row's keys, in the form {@link Merge} combines: {@code out} [..., Dv]
 * and, for softmax patterns, {@code lse} [...] (natural log) over the same rows.
 *
 * <ul>
 *   <li>Softmax: {@code out} is the row's output over the part's keys alone,
 *       Σ e^(s − lse)·v, and {@code lse} = log Σ e^s over those keys. A row none of whose keys
 *       is visible has out 0 and lse −∞. Neither the sink logit nor the output transform is in a
 *       partial: the sink belongs to the whole row (merged in once, by {@code Kernel.finish}),
 *       and a transform does not commute with the merge.</li>
 *   <li>Sigmoid and no normalisation: {@code lse} is null and {@code out} is the sum Σ w·v over
 *       the part's keys; partials add.</li>
 * </ul>
 */
public record Partial(Tensor out, Tensor lse) {

    public Partial {
        if (out == null) throw new ShapeException("partial out: missing; expected a float tensor [..., Dv]");
        if (out.rank() < 1) throw new ShapeException("partial out: expected a tensor [..., Dv] of rank 1 or more, got a scalar");
        if (out.dtype().loadsAs() != Type.FLOAT) throw new ShapeException("partial out: expected a float dtype, got " + out.dtype());
        if (lse != null) {
            int[] rows = Arrays.copyOf(out.shape(), out.rank() - 1);
            if (!Arrays.equals(lse.shape(), rows)) {
                throw new ShapeException("partial lse: expected shape " + Arrays.toString(rows) + " (out " + out.shapeText() + " without its last dimension), got " + lse.shapeText());
            }
            if (lse.dtype() != DType.FLOAT32) throw new ShapeException("partial lse: expected dtype float32, got " + lse.dtype());
        }
    }
}
