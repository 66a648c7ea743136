package attnc.ir;

/**
 * The meaning of every scalar operation, in one place: the reference evaluates with these, constant
 * folding folds with these, and the backends' tests hold their kernels to them. Integer
 * arithmetic wraps at 32 bits; division and modulo are floored and give 0 for a zero divisor;
 * shift counts use their low 5 bits.
 */
public final class Semantics {
    private Semantics() {}

    public static int intBinary(BinaryOp op, int a, int b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> b == 0 ? 0 : Math.floorDiv(a, b);
            case MOD -> b == 0 ? 0 : Math.floorMod(a, b);
            case SHL -> a << b;
            case SHR -> a >> b;
            case BIT_AND -> a & b;
            case BIT_OR -> a | b;
            case BIT_XOR -> a ^ b;
            default -> throw new IllegalArgumentException(op + " does not give an int");
        };
    }

    public static double floatBinary(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            default -> throw new IllegalArgumentException(op + " does not give a float");
        };
    }

    public static boolean intCompare(BinaryOp op, int a, int b) {
        return switch (op) {
            case LT -> a < b;
            case LE -> a <= b;
            case GT -> a > b;
            case GE -> a >= b;
            case EQ -> a == b;
            case NE -> a != b;
            default -> throw new IllegalArgumentException(op + " is not a comparison");
        };
    }

    public static boolean floatCompare(BinaryOp op, double a, double b) {
        return switch (op) {
            case LT -> a < b;
            case LE -> a <= b;
            case GT -> a > b;
            case GE -> a >= b;
            case EQ -> a == b;
            case NE -> a != b;
            default -> throw new IllegalArgumentException(op + " is not a comparison");
        };
    }

    public static double floatCall(Builtin fn, double x) {
        return switch (fn) {
            case ABS -> Math.abs(x);
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case LOG2 -> Math.log(x) / Math.log(2.0);
            case SQRT -> Math.sqrt(x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> sigmoid(x);
            case FLOOR -> Math.floor(x);
            default -> throw new IllegalArgumentException(fn + " is not a float function of one argument");
        };
    }

    public static double sigmoid(double x) {
        return x >= 0 ? 1.0 / (1.0 + Math.exp(-x)) : Math.exp(x) / (1.0 + Math.exp(x));
    }

    public static int bitlen(int x) {
        return 32 - Integer.numberOfLeadingZeros(x);
    }

    /** float → int rounds toward negative infinity and saturates, as Java's (int) of a floor. */
    public static int toInt(double x) {
        return (int) Math.floor(x);
    }
}
