package attnc.jvm.kernel;

/**
 * What a generated hook reads besides the indices: the pattern's input tensors, launch sizes and
 * launch-time params, each at a slot the generator fixed when it rendered the pattern (see
 * {@link attnc.jvm.Slots}). Int and bool tensors are int arrays (bool as 0/1); float tensors are
 * float arrays already rounded to their dtype. Immutable once built, so concurrent launches can
 * share nothing else and still read it safely.
 */
public final class Env {
    public final int[][] ints;
    public final float[][] floats;
    public final int[] sizes;
    public final int[] intParams;
    public final float[] floatParams;

    public Env(int[][] ints, float[][] floats, int[] sizes, int[] intParams, float[] floatParams) {
        this.ints = ints;
        this.floats = floats;
        this.sizes = sizes;
        this.intParams = intParams;
        this.floatParams = floatParams;
    }
}
