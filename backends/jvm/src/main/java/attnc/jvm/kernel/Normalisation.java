package attnc.jvm.kernel;

/**
 * How a generated kernel turns scores into weights: the kernel package's view of the pattern's
 * norm ({@link attnc.lower.LoweredNorm}), so generated classes need nothing outside this
 * package. The template compares against these constants, and C2 folds the comparisons away.
 */
public enum Normalisation {
    /** Online softmax with a running max and row sum; a sink logit may join the sum at the end. */
    SOFTMAX,
    /** sigmoid(score + bias), no row sum. */
    SIGMOID,
    /** The score is the weight. */
    NONE;

    /** Whether partial rows over disjoint keys merge by their max and sum (split-KV). */
    public boolean hasRowSum() { return this == SOFTMAX; }
}
