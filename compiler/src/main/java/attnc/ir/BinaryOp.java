package attnc.ir;

import java.util.Arrays;
import java.util.Optional;

/**
 * Binary operators, with the precedence level the grammar gives them (higher binds tighter).
 * Integer {@code /} and {@code %} are floored (Python's), so {@code %} by a positive divisor is
 * never negative: window and stripe masks need that for positions before a query offset.
 */
public enum BinaryOp {
    MUL("*", 6, Kind.ARITH), DIV("/", 6, Kind.ARITH), MOD("%", 6, Kind.INT_ONLY),
    SHL("<<", 6, Kind.INT_ONLY), SHR(">>", 6, Kind.INT_ONLY), BIT_AND("&", 6, Kind.INT_ONLY),
    ADD("+", 5, Kind.ARITH), SUB("-", 5, Kind.ARITH), BIT_OR("|", 5, Kind.INT_ONLY), BIT_XOR("^", 5, Kind.INT_ONLY),
    LT("<", 4, Kind.COMPARE), LE("<=", 4, Kind.COMPARE), GT(">", 4, Kind.COMPARE), GE(">=", 4, Kind.COMPARE),
    EQ("==", 3, Kind.EQUALITY), NE("!=", 3, Kind.EQUALITY),
    AND("&&", 1, Kind.LOGIC), OR("||", 0, Kind.LOGIC);

    /** What operand types an operator takes and what it gives. */
    public enum Kind { ARITH, INT_ONLY, COMPARE, EQUALITY, LOGIC }

    /** Precedence of {@code in}, between equality and {@code &&}. */
    public static final int MEMBER_PRECEDENCE = 2;

    private final String symbol;
    private final int precedence;
    private final Kind kind;

    BinaryOp(String symbol, int precedence, Kind kind) {
        this.symbol = symbol;
        this.precedence = precedence;
        this.kind = kind;
    }

    public String symbol() { return symbol; }
    public int precedence() { return precedence; }
    public Kind kind() { return kind; }

    public boolean yieldsBool() { return kind == Kind.COMPARE || kind == Kind.EQUALITY || kind == Kind.LOGIC; }

    public static Optional<BinaryOp> ofSymbol(String text) {
        return Arrays.stream(values()).filter(o -> o.symbol.equals(text)).findFirst();
    }
}
