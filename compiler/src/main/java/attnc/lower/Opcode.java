package attnc.lower;

/**
 * The operations of a lowered program. Arithmetic and comparisons exist for int and float
 * operands alike (an instruction's {@code operandType} says which); semantics are those of
 * {@link attnc.ir.Semantics}.
 */
public enum Opcode {
    ADD, SUB, MUL, DIV, MOD, SHL, SHR, BIT_AND, BIT_OR, BIT_XOR,
    NEG, NOT, BIT_NOT,
    LT, LE, GT, GE, EQ, NE,
    AND, OR,
    /** args: condition, if true, if false. Both branches are always evaluated (they are total). */
    SELECT,
    MIN, MAX, ABS,
    EXP, LOG, LOG2, SQRT, TANH, SIGMOID, FLOOR,
    BITLEN,
    /** int → float */
    I2F,
    /** float → int, toward negative infinity */
    F2I
}
