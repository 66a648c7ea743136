package attnc.launch;

/**
 * A kernel's output [B, H, Nq, Dv] and, for softmax patterns, the natural-log LSE [B, H, Nq]
 * (null for sigmoid and unnormalised patterns, where no row sum exists).
 */
public record Result(float[] out, float[] lse, int[] outShape) {}
