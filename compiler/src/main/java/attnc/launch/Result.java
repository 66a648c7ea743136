package attnc.launch;

/**
 * A kernel's output [B, H, Nq, Dv] and, for softmax patterns, the natural-log LSE [B, H, Nq]
 * (null for sigmoid and unnormalised patterns, where no row sum exists).
 *
 * <p>{@code preOutput} is {@code o} [B, H, Nq, Dv], the normalised weighted sum of V before the
 * pattern's output transform, kept when there is a transform (a gate) and null when the output is
 * {@code o} itself. The backward pass needs it: the softmax rule's rowsum(dO ∘ O) and the gate's
 * derivatives are taken at {@code o}, and a transform cannot in general be inverted; recomputing
 * {@code o} in the backward would cost a second forward pass, keeping it costs one more store of
 * the size of the output.
 */
public record Result(float[] out, float[] lse, int[] outShape, float[] preOutput) {

    /** A result without {@code preOutput}: for patterns whose output is {@code o}. */
    public Result(float[] out, float[] lse, int[] outShape) {
        this(out, lse, outShape, null);
    }
}
