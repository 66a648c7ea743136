package attnc.lower;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Expression to {@link Program}: one instruction per distinct operation (equal instructions are
 * shared, so lets and repeated subtrees cost nothing), tensor indices clamped into bounds and
 * flattened to one offset. Used by {@link LowerPattern} only: backends read the programs of a
 * {@link LoweredPattern}, never expressions.
 */
final class Lowering {
    private final Pattern pattern;
    private final ProgramBuilder program = new ProgramBuilder();
    private final Map<String, Integer> locals = new HashMap<>();

    private Lowering(Pattern pattern) {
        this.pattern = pattern;
    }

    /** Lowers one expression of {@code pattern} (the pattern supplies input shapes). */
    static Program lower(Pattern pattern, Expr e) {
        Lowering lowering = new Lowering(pattern);
        return lowering.program.build(lowering.emit(e));
    }

    /** The clamped row-major element offset a load of {@code pattern} reads: where a kernel adds that element's gradient. */
    static Program offsetOf(Pattern pattern, Expr.Load load) {
        Lowering lowering = new Lowering(pattern);
        return lowering.program.build(lowering.offset(load.input(), load.indices()));
    }

    private int add(Instr instr) { return program.add(instr); }

    private int op(Opcode op, Type type, Type operandType, int... args) {
        return add(new Instr.Op(op, type, operandType, java.util.Arrays.stream(args).boxed().toList()));
    }

    private int emit(Expr e) {
        return switch (e) {
            case Expr.IntLit(int v) -> add(new Instr.IntConst(v));
            case Expr.FloatLit(double v) -> add(new Instr.FloatConst(v));
            case Expr.BoolLit(boolean v) -> add(new Instr.BoolConst(v));
            case Expr.IndexRef(Index i) -> add(new Instr.IndexValue(i));
            case Expr.SizeRef(String n) -> add(new Instr.SizeValue(n));
            case Expr.ParamRef(String n, Type t) -> add(new Instr.ParamValue(n, t));
            case Expr.ScoreRef() -> add(new Instr.Score());
            case Expr.OutputRef() -> add(new Instr.Output());
            case Expr.LocalRef(String n, Type t) -> locals.get(n);
            case Expr.Let(String n, Expr value, Expr body) -> {
                Integer shadowed = locals.put(n, emit(value));
                int result = emit(body);
                if (shadowed == null) locals.remove(n); else locals.put(n, shadowed);
                yield result;
            }
            case Expr.Unary(UnaryOp op, Expr x) -> {
                int a = emit(x);
                yield op(switch (op) { case NEG -> Opcode.NEG; case NOT -> Opcode.NOT; case BIT_NOT -> Opcode.BIT_NOT; }, e.type(), x.type(), a);
            }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> op(Opcode.valueOf(op.name()), e.type(), l.type(), emit(l), emit(r));
            case Expr.Conditional(Expr c, Expr t, Expr f) -> op(Opcode.SELECT, e.type(), e.type(), emit(c), emit(t), emit(f));
            case Expr.Call(Builtin fn, List<Expr> args) -> {
                int[] regs = args.stream().mapToInt(this::emit).toArray();
                Opcode code = switch (fn) {
                    case FLOAT -> Opcode.I2F;
                    case INT -> Opcode.F2I;
                    default -> Opcode.valueOf(fn.name());
                };
                yield op(code, e.type(), args.getFirst().type(), regs);
            }
            case Expr.Load load -> add(new Instr.Load(load.input(), load.dtype(), offset(load.input(), load.indices())));
            case Expr.Member m -> {
                Input input = pattern.input(m.input()).orElseThrow();
                int width = emit(input.shape().getLast());
                int row = offset(m.input(), m.leading());
                yield add(new Instr.Member(m.input(), emit(m.value()), op(Opcode.MUL, Type.INT, Type.INT, row, width), width));
            }
        };
    }

    /** Row-major offset of the given leading indices, each clamped to 0..dim-1. */
    private int offset(String inputName, List<Expr> indices) {
        Input input = pattern.input(inputName).orElseThrow(() -> new IllegalStateException("no input " + inputName));
        int zero = add(new Instr.IntConst(0));
        int one = add(new Instr.IntConst(1));
        int flat = zero;
        for (int i = 0; i < indices.size(); i++) {
            int dim = emit(input.shape().get(i));
            int index = emit(indices.get(i));
            int clamped = op(Opcode.MAX, Type.INT, Type.INT, zero,
                    op(Opcode.MIN, Type.INT, Type.INT, index, op(Opcode.SUB, Type.INT, Type.INT, dim, one)));
            flat = i == 0 ? clamped : op(Opcode.ADD, Type.INT, Type.INT, op(Opcode.MUL, Type.INT, Type.INT, flat, dim), clamped);
        }
        return flat;
    }
}
