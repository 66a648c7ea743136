package attnc.lower;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Semantics;
import attnc.ir.Type;
import java.util.List;

/**
 * Constant folding and exact identities over a lowered {@link Program}. The IR's
 * {@link attnc.pass.FoldConstants} has already folded (or, with {@code foldChecked}, refused)
 * every constant operation a person wrote; what is left to fold here is what lowering and
 * launch-time binding create: an input's clamp against a constant dimension ({@code 4 − 1},
 * {@code max(0, min(2, 3))}), the row-major sum of a constant index ({@code x · 4 + 0}), sizes
 * fixed by {@link BindSizes}. These compute at run time, so they fold with the run-time meaning
 * ({@link Semantics}: ints wrap, {@code x / 0} is 0), which gives the value the unfolded program
 * would, bit for bit.
 *
 * <p>Floats fold only where the kernels' fp32 arithmetic and the reference's double give the
 * folded value too: operands that are fp32 numbers, operations that round once (+, −, ·, /, √)
 * or not at all (negation, abs, min, max, floor, comparisons, conversions), and a finite result
 * within fp32's range. A double result of +, −, ·, / or √ of fp32 operands rounds to fp32 as the
 * fp32 operation does (double has more than twice fp32's precision), so the kernel's fp32
 * constant is its own result. exp, log, tanh and sigmoid stay: kernels approximate them.
 * Identities are those exact for every operand, NaN and −0 included: x + 0 and x · 0 on ints
 * only, x − 0.0, x + (−0.0), x · 1.0 and x / 1.0 on floats.
 */
public final class FoldProgram {
    private FoldProgram() {}

    public static Program fold(Program program) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = new int[program.instrs().size()];
        for (int i = 0; i < moved.length; i++) moved[i] = rewrite(StrengthReduce.renamed(program.instrs().get(i), moved), out);
        return out.build(moved[program.result()]);
    }

    private static int rewrite(Instr instr, ProgramBuilder out) {
        if (!(instr instanceof Instr.Op op)) return out.add(instr);
        List<Instr> args = op.args().stream().map(out::at).toList();
        if (op.op() == Opcode.SELECT) {
            Integer branch = select(op, args.getFirst(), out);
            return branch != null ? branch : out.add(op);
        }
        Instr constant = evaluate(op, args);
        if (constant != null) return out.add(constant);
        Integer same = identity(op, args, out);
        return same != null ? same : out.add(op);
    }

    /** The operation's value when its operands are constants and the fold is exact; else null. */
    private static Instr evaluate(Instr.Op op, List<Instr> args) {
        if (!args.stream().allMatch(FoldProgram::isConstant)) return null;
        return switch (op.operandType()) {
            case INT -> intOp(op.op(), args.stream().mapToInt(a -> ((Instr.IntConst) a).value()).toArray());
            case FLOAT -> args.stream().allMatch(a -> isFloat32(((Instr.FloatConst) a).value()))
                    ? floatOp(op.op(), args.stream().mapToDouble(a -> ((Instr.FloatConst) a).value()).toArray()) : null;
            case BOOL -> boolOp(op.op(), ((Instr.BoolConst) args.getFirst()).value(), args.size() > 1 && ((Instr.BoolConst) args.get(1)).value());
        };
    }

    private static Instr intOp(Opcode op, int[] v) {
        int a = v[0], b = v.length > 1 ? v[1] : 0;
        return switch (op) {
            case ADD, SUB, MUL, DIV, MOD, SHL, SHR, BIT_AND, BIT_OR, BIT_XOR -> new Instr.IntConst(Semantics.intBinary(BinaryOp.valueOf(op.name()), a, b));
            case LT, LE, GT, GE, EQ, NE -> new Instr.BoolConst(Semantics.intCompare(BinaryOp.valueOf(op.name()), a, b));
            case NEG -> new Instr.IntConst(-a);
            case BIT_NOT -> new Instr.IntConst(~a);
            case MIN -> new Instr.IntConst(Math.min(a, b));
            case MAX -> new Instr.IntConst(Math.max(a, b));
            case ABS -> new Instr.IntConst(Math.abs(a));
            case BITLEN -> new Instr.IntConst(Semantics.bitlen(a));
            case I2F -> new Instr.FloatConst(a);
            default -> null;
        };
    }

    private static Instr floatOp(Opcode op, double[] v) {
        double a = v[0], b = v.length > 1 ? v[1] : 0;
        return switch (op) {
            case ADD, SUB, MUL, DIV -> finite(Semantics.floatBinary(BinaryOp.valueOf(op.name()), a, b));
            case LT, LE, GT, GE, EQ, NE -> new Instr.BoolConst(Semantics.floatCompare(BinaryOp.valueOf(op.name()), a, b));
            case NEG -> new Instr.FloatConst(-a);
            case ABS -> new Instr.FloatConst(Math.abs(a));
            case MIN -> new Instr.FloatConst(Math.min(a, b));
            case MAX -> new Instr.FloatConst(Math.max(a, b));
            case SQRT, FLOOR -> finite(Semantics.floatCall(Builtin.valueOf(op.name()), a));
            case F2I -> new Instr.IntConst(Semantics.toInt(a));
            default -> null;
        };
    }

    private static Instr boolOp(Opcode op, boolean a, boolean b) {
        return switch (op) {
            case AND, BIT_AND -> new Instr.BoolConst(a && b);
            case OR, BIT_OR -> new Instr.BoolConst(a || b);
            case BIT_XOR, NE -> new Instr.BoolConst(a != b);
            case EQ -> new Instr.BoolConst(a == b);
            case NOT -> new Instr.BoolConst(!a);
            default -> null;
        };
    }

    /** A folded float: only a finite value within fp32's range, which every target's literal holds as it is. */
    private static Instr finite(double value) {
        return Double.isFinite(value) && Math.abs(value) <= Float.MAX_VALUE ? new Instr.FloatConst(value) : null;
    }

    private static boolean isFloat32(double value) { return (float) value == value; }

    private static boolean isConstant(Instr instr) {
        return instr instanceof Instr.IntConst || instr instanceof Instr.FloatConst || instr instanceof Instr.BoolConst;
    }

    /**
     * The register the operation equals whatever its variable operands are, or a constant it
     * always gives (added to {@code out}); null where no identity applies.
     */
    private static Integer identity(Instr.Op op, List<Instr> args, ProgramBuilder out) {
        List<Integer> regs = op.args();
        // Integer, not int: a conditional of int and null would unbox the null.
        Integer x = regs.getFirst(), y = regs.size() > 1 ? regs.get(1) : null;
        Instr a = args.getFirst(), b = args.size() > 1 ? args.get(1) : null;
        boolean same = regs.size() == 2 && x.equals(y);
        return switch (op.operandType()) {
            case INT -> switch (op.op()) {
                case ADD -> isInt(b, 0) ? x : isInt(a, 0) ? y : null;
                case SUB -> isInt(b, 0) ? x : same ? constant(out, 0) : null;
                case MUL -> isInt(b, 1) ? x : isInt(a, 1) ? y : isInt(a, 0) || isInt(b, 0) ? constant(out, 0) : null;
                // Floored: x / 1 = x; x % 1 = 0; a zero divisor or dividend gives 0.
                case DIV -> isInt(b, 1) ? x : isInt(b, 0) || isInt(a, 0) ? constant(out, 0) : null;
                case MOD -> isInt(b, 1) || isInt(b, -1) || isInt(b, 0) || isInt(a, 0) || same ? constant(out, 0) : null;
                case BIT_AND -> isInt(b, -1) || same ? x : isInt(a, -1) ? y : isInt(a, 0) || isInt(b, 0) ? constant(out, 0) : null;
                case BIT_OR -> isInt(b, 0) || same ? x : isInt(a, 0) ? y : isInt(a, -1) || isInt(b, -1) ? constant(out, -1) : null;
                case BIT_XOR -> isInt(b, 0) ? x : isInt(a, 0) ? y : same ? constant(out, 0) : null;
                // Shift counts use their low 5 bits.
                case SHL, SHR -> b instanceof Instr.IntConst(int c) && (c & 31) == 0 ? x : isInt(a, 0) ? constant(out, 0)
                        : op.op() == Opcode.SHR && isInt(a, -1) ? constant(out, -1) : null;
                case MIN, MAX -> same ? x : null;
                case EQ, LE, GE -> same ? bool(out, true) : null;
                case NE, LT, GT -> same ? bool(out, false) : null;
                case NEG, BIT_NOT -> a instanceof Instr.Op(Opcode inner, var t, var o, List<Integer> in) && inner == op.op() ? in.getFirst() : null;
                default -> null;
            };
            case FLOAT -> switch (op.op()) {
                // x − (+0) and x + (−0) are x for every x, −0 and NaN included; x + (+0) is not (−0 + 0 = +0).
                case ADD -> isNegativeZero(b) ? x : isNegativeZero(a) ? y : null;
                case SUB -> isPositiveZero(b) ? x : null;
                case MUL -> isFloat(b, 1.0) ? x : isFloat(a, 1.0) ? y : null;
                case DIV -> isFloat(b, 1.0) ? x : null;
                case MIN, MAX -> same ? x : null;
                // NaN < NaN is false too; x <= x and x == x are not true for NaN.
                case LT, GT -> same ? bool(out, false) : null;
                case NEG -> a instanceof Instr.Op(Opcode inner, var t, var o, List<Integer> in) && inner == Opcode.NEG ? in.getFirst() : null;
                default -> null;
            };
            case BOOL -> switch (op.op()) {
                case AND, BIT_AND -> isBool(b, true) || same ? x : isBool(a, true) ? y : isBool(a, false) || isBool(b, false) ? bool(out, false) : null;
                case OR, BIT_OR -> isBool(b, false) || same ? x : isBool(a, false) ? y : isBool(a, true) || isBool(b, true) ? bool(out, true) : null;
                case EQ -> isBool(b, true) ? x : isBool(a, true) ? y : same ? bool(out, true) : null;
                case NE, BIT_XOR -> isBool(b, false) ? x : isBool(a, false) ? y : same ? bool(out, false) : null;
                case NOT -> a instanceof Instr.Op(Opcode inner, var t, var o, List<Integer> in) && inner == Opcode.NOT ? in.getFirst() : null;
                default -> null;
            };
        };
    }

    /** c ? t : f with a constant condition is its branch; with equal branches, either; over true and false, the condition. */
    private static Integer select(Instr.Op op, Instr condition, ProgramBuilder out) {
        int c = op.args().get(0), t = op.args().get(1), f = op.args().get(2);
        if (condition instanceof Instr.BoolConst(boolean v)) return v ? t : f;
        if (t == f) return t;
        if (op.type() == Type.BOOL && isBool(out.at(t), true) && isBool(out.at(f), false)) return c;
        if (condition instanceof Instr.Op(Opcode inner, var type, var operand, List<Integer> in) && inner == Opcode.NOT) {
            return out.add(new Instr.Op(Opcode.SELECT, op.type(), op.operandType(), List.of(in.getFirst(), f, t)));
        }
        return null;
    }

    private static Integer constant(ProgramBuilder out, int value) { return out.add(new Instr.IntConst(value)); }

    private static Integer bool(ProgramBuilder out, boolean value) { return out.add(new Instr.BoolConst(value)); }

    private static boolean isInt(Instr instr, int value) { return instr instanceof Instr.IntConst(int v) && v == value; }

    private static boolean isFloat(Instr instr, double value) { return instr instanceof Instr.FloatConst(double v) && v == value; }

    private static boolean isPositiveZero(Instr instr) { return instr instanceof Instr.FloatConst(double v) && Double.doubleToRawLongBits(v) == 0L; }

    private static boolean isNegativeZero(Instr instr) { return instr instanceof Instr.FloatConst(double v) && Double.doubleToRawLongBits(v) == Double.doubleToRawLongBits(-0.0); }

    private static boolean isBool(Instr instr, boolean value) { return instr instanceof Instr.BoolConst(boolean v) && v == value; }
}
