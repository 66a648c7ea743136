package attnc.gen;

/** How wild generated float values may be. */
public enum Style {
    /** Anything the checker accepts: huge literals, log of negatives, overflowing exp; NaN and ±inf do occur. */
    ANY,
    /**
     * Every float stays finite and moderate (|x| in the hundreds at most at depth 4): arguments of
     * log and sqrt are {@code abs(x) + 1.0}, exp takes {@code tanh(x)}, divisors are
     * {@code abs(y) + 1.0}, products scale by a tanh, ints become floats modulo 16, literals are
     * small, a scale is a tanh; comparisons of floats, floor and int() take operands that fp32
     * and double compute alike, so no kernel decides a step differently from the reference
     * (ExprGenerator.stepOperand). For comparing kernels of lower precision with the reference.
     */
    TAME
}
