package attnc.ir;

import java.util.Arrays;
import java.util.Optional;

/** Built-in functions. {@code min}, {@code max} and {@code abs} keep their argument type; the rest are fixed. */
public enum Builtin {
    MIN("min", 2), MAX("max", 2), ABS("abs", 1),
    EXP("exp", 1), LOG("log", 1), LOG2("log2", 1), SQRT("sqrt", 1), TANH("tanh", 1), SIGMOID("sigmoid", 1),
    FLOOR("floor", 1),
    /** Number of bits needed to write a non-negative int: bitlen(0)=0, bitlen(5)=3; negative inputs give 32. */
    BITLEN("bitlen", 1),
    /** int → float. The checker inserts it wherever an int meets a float. */
    FLOAT("float", 1),
    /** float → int, rounding toward negative infinity. */
    INT("int", 1);

    private final String spelling;
    private final int arity;

    Builtin(String spelling, int arity) {
        this.spelling = spelling;
        this.arity = arity;
    }

    public String spelling() { return spelling; }
    public int arity() { return arity; }

    /** True when the result type is the (common) argument type rather than a fixed one. */
    public boolean polymorphic() { return this == MIN || this == MAX || this == ABS; }

    public static Optional<Builtin> ofSpelling(String text) {
        return Arrays.stream(values()).filter(b -> b.spelling.equals(text)).findFirst();
    }
}
