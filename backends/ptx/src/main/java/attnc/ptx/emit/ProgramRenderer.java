package attnc.ptx.emit;

import attnc.ir.Index;
import attnc.ir.Type;
import attnc.lower.Instr;
import attnc.lower.Opcode;
import attnc.lower.Program;
import attnc.lower.Program.Level;
import java.util.List;
import java.util.Map;

/**
 * Prints a lowered {@link Program} as PTX, one instruction (or a short fixed sequence) per
 * {@link Instr}. The program says each register's {@link Level} (whether it changes along the
 * thread's rows, its columns, both or neither) and whether the result needs it; the kernel emits
 * each level where it belongs ({@link #emit}): uniform values once per thread, row values once
 * per row, column values once per column of a tile, and only the rest per element. Register
 * names carry the program's prefix, the instruction number and the site: {@code %mask7_r1_c5}.
 * Target-independent rewrites ({@link attnc.lower.StrengthReduce}) are already in the program;
 * the one rewrite made here is PTX's own: a float division by a constant becomes a multiplication
 * by its reciprocal, which may differ from the quotient in the last bit.
 */
final class ProgramRenderer {
    private static final String LOG2E = FlashEmitter.LOG2E;
    private static final String LN2 = PtxWriter.f32Literal(0.6931471805599453);

    private final PtxWriter out;
    private final Program program;
    private final String prefix;
    private final Leaves leaves;

    ProgramRenderer(PtxWriter out, Program program, String prefix, Leaves leaves) {
        this.out = out;
        this.program = program;
        this.prefix = prefix;
        this.leaves = leaves;
    }

    Program program() { return program; }

    /** The register of the result at a site. */
    String result(int row, int col) { return name(program.result(), row, col); }

    /** Emits the live instructions of exactly {@code level}, for one site (row/col ignored where the level lacks them). */
    void emit(Level level, int row, int col) {
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.level(i) == level) render(i, row, col);
        }
    }

    /** Emits every level for one site, in order: for kernels that evaluate everything per element. */
    void emitAll(int row, int col) {
        for (Level level : Level.values()) emit(level, row, col);
    }

    private String name(int i, int row, int col) {
        Level level = program.level(i);
        return "%" + prefix + i + (level.variesAlongRows() ? "_r" + row : "") + (level.variesAlongColumns() ? "_c" + col : "");
    }

    private String declare(int i, int row, int col) {
        String reg = name(i, row, col);
        return out.reg(regType(program.instrs().get(i).type()), reg);
    }

    static String regType(Type type) {
        return switch (type) {
            case INT -> ".s32";
            case FLOAT -> ".f32";
            case BOOL -> ".pred";
        };
    }

    private void render(int i, int row, int col) {
        Instr instr = program.instrs().get(i);
        String d = declare(i, row, col);
        switch (instr) {
            case Instr.IntConst(int v) -> out.op("mov.s32", d, v);
            case Instr.FloatConst(double v) -> out.op("mov.f32", d, PtxWriter.f32Literal(v));
            case Instr.BoolConst(boolean v) -> out.op(v ? "setp.eq.s32" : "setp.ne.s32", d, 0, 0);
            case Instr.IndexValue(Index index) -> out.op("mov.s32", d, leaves.index(index, row, col));
            case Instr.SizeValue(String n) -> out.op("mov.s32", d, leaves.size(n));
            case Instr.ParamValue(String n, Type t) -> {
                if (t == Type.BOOL) out.op("setp.ne.s32", d, leaves.param(n), 0);
                else out.op("mov" + regType(t), d, leaves.param(n));
            }
            case Instr.Score s -> out.op("mov.f32", d, leaves.score(row, col));
            case Instr.Output o -> out.op("mov.f32", d, leaves.output(row, col));
            case Instr.Load load -> renderLoad(d, load, arg(load.offset(), row, col));
            case Instr.Member m -> renderMember(d, m, row, col);
            case Instr.Op op -> renderOp(d, op, op.args().stream().map(a -> arg(a, row, col)).toList());
        }
    }

    private String arg(int register, int row, int col) { return name(register, row, col); }

    private String tmp(String d, String suffix, String type) {
        return out.reg(type, d + "_" + suffix);
    }

    private void renderLoad(String d, Instr.Load load, String offset) {
        String address = tmp(d, "addr", ".u64");
        out.op("mul.wide.s32", address, offset, load.dtype().bytes());
        out.op("add.s64", address, address, leaves.input(load.input()));
        switch (load.dtype()) {
            case FLOAT32 -> out.op("ld.global.nc.f32", d, "[" + address + "]");
            case INT32 -> out.op("ld.global.nc.s32", d, "[" + address + "]");
            case BFLOAT16 -> {
                String bits = tmp(d, "bits", ".b32");
                out.op("ld.global.nc.u16", bits, "[" + address + "]");
                out.op("shl.b32", bits, bits, 16);
                out.op("mov.b32", d, bits);
            }
            case FLOAT16 -> {
                String half = tmp(d, "half", ".b16");
                out.op("ld.global.nc.b16", half, "[" + address + "]");
                out.op("cvt.f32.f16", d, half);
            }
            case BOOL -> {
                String bits = tmp(d, "byte", ".u32");
                out.op("ld.global.nc.u8", bits, "[" + address + "]");
                out.op("setp.ne.u32", d, bits, 0);
            }
        }
    }

    /** {@code value in T[row]}: a scan of the row's int32 elements (top-k lists are short). */
    private void renderMember(String d, Instr.Member m, int row, int col) {
        String value = arg(m.value(), row, col), rowOffset = arg(m.rowOffset(), row, col), width = arg(m.width(), row, col);
        String i = tmp(d, "i", ".s32"), address = tmp(d, "addr", ".u64"), element = tmp(d, "elem", ".s32");
        String done = tmp(d, "done", ".pred"), hit = tmp(d, "hit", ".pred");
        String loop = out.newLabel("member"), exit = out.newLabel("member_done");
        out.op("setp.ne.s32", d, 0, 0);
        out.op("mov.s32", i, 0);
        out.label(loop);
        out.op("setp.ge.s32", done, i, width);
        out.op("@" + done + " bra", exit);
        out.op("add.s32", element, rowOffset, i);
        out.op("mul.wide.s32", address, element, 4);
        out.op("add.s64", address, address, leaves.input(m.input()));
        out.op("ld.global.nc.s32", element, "[" + address + "]");
        out.op("setp.eq.s32", hit, element, value);
        out.op("or.pred", d, d, hit);
        out.op("add.s32", i, i, 1);
        out.op("bra", loop);
        out.label(exit);
    }

    /** An opcode over operands of one type. */
    private record Typed(Opcode op, Type operand) {}

    /** The operations that are one PTX instruction, by opcode and operand type: {@code opcode d, a[, b]}. */
    private static final Map<Typed, String> SINGLE = Map.ofEntries(
            Map.entry(new Typed(Opcode.ADD, Type.INT), "add.s32"), Map.entry(new Typed(Opcode.ADD, Type.FLOAT), "add.f32"),
            Map.entry(new Typed(Opcode.SUB, Type.INT), "sub.s32"), Map.entry(new Typed(Opcode.SUB, Type.FLOAT), "sub.f32"),
            Map.entry(new Typed(Opcode.MUL, Type.INT), "mul.lo.s32"), Map.entry(new Typed(Opcode.MUL, Type.FLOAT), "mul.f32"),
            Map.entry(new Typed(Opcode.NEG, Type.INT), "neg.s32"), Map.entry(new Typed(Opcode.NEG, Type.FLOAT), "neg.f32"),
            Map.entry(new Typed(Opcode.MIN, Type.INT), "min.s32"), Map.entry(new Typed(Opcode.MIN, Type.FLOAT), "min.f32"),
            Map.entry(new Typed(Opcode.MAX, Type.INT), "max.s32"), Map.entry(new Typed(Opcode.MAX, Type.FLOAT), "max.f32"),
            Map.entry(new Typed(Opcode.ABS, Type.INT), "abs.s32"), Map.entry(new Typed(Opcode.ABS, Type.FLOAT), "abs.f32"),
            Map.entry(new Typed(Opcode.BIT_AND, Type.INT), "and.b32"), Map.entry(new Typed(Opcode.BIT_AND, Type.BOOL), "and.pred"),
            Map.entry(new Typed(Opcode.BIT_OR, Type.INT), "or.b32"), Map.entry(new Typed(Opcode.BIT_OR, Type.BOOL), "or.pred"),
            Map.entry(new Typed(Opcode.BIT_XOR, Type.INT), "xor.b32"), Map.entry(new Typed(Opcode.BIT_XOR, Type.BOOL), "xor.pred"),
            Map.entry(new Typed(Opcode.BIT_NOT, Type.INT), "not.b32"), Map.entry(new Typed(Opcode.NOT, Type.BOOL), "not.pred"),
            Map.entry(new Typed(Opcode.AND, Type.BOOL), "and.pred"), Map.entry(new Typed(Opcode.OR, Type.BOOL), "or.pred"),
            Map.entry(new Typed(Opcode.LOG2, Type.FLOAT), "lg2.approx.ftz.f32"), Map.entry(new Typed(Opcode.SQRT, Type.FLOAT), "sqrt.rn.f32"),
            Map.entry(new Typed(Opcode.TANH, Type.FLOAT), "tanh.approx.f32"), Map.entry(new Typed(Opcode.FLOOR, Type.FLOAT), "cvt.rmi.f32.f32"),
            Map.entry(new Typed(Opcode.I2F, Type.INT), "cvt.rn.f32.s32"), Map.entry(new Typed(Opcode.F2I, Type.FLOAT), "cvt.rmi.s32.f32"));

    private void renderOp(String d, Instr.Op op, List<String> a) {
        String single = SINGLE.get(new Typed(op.op(), op.operandType()));
        if (single != null) {
            Object[] operands = new Object[a.size() + 1];
            operands[0] = d;
            for (int i = 0; i < a.size(); i++) operands[i + 1] = a.get(i);
            out.op(single, operands);
            return;
        }
        switch (op.op()) {
            case DIV -> {
                if (op.operandType() == Type.FLOAT) renderFloatDivide(d, op, a);
                else renderFlooredDivide(d, a, false);
            }
            case MOD -> renderFlooredDivide(d, a, true);
            case SHL, SHR -> {
                // PTX clamps shift counts; Semantics takes their low 5 bits, as Java does.
                String count;
                if (program.instrs().get(op.args().get(1)) instanceof Instr.IntConst(int c)) {
                    count = Integer.toString(c & 31);
                } else {
                    count = tmp(d, "count", ".b32");
                    out.op("and.b32", count, a.get(1), 31);
                }
                out.op(op.op() == Opcode.SHL ? "shl.b32" : "shr.s32", d, a.get(0), count);
            }
            case LT, LE, GT, GE, EQ, NE -> renderCompare(d, op.op(), op.operandType(), a);
            case SELECT -> renderSelect(d, op.type(), a);
            case EXP -> {
                String scaled = tmp(d, "log2", ".f32");
                out.op("mul.f32", scaled, a.get(0), LOG2E);
                out.op("ex2.approx.ftz.f32", d, scaled);
            }
            case LOG -> {
                String log2 = tmp(d, "log2", ".f32");
                out.op("lg2.approx.ftz.f32", log2, a.get(0));
                out.op("mul.f32", d, log2, LN2);
            }
            case SIGMOID -> {
                // sigmoid(x) = 0.5 + 0.5·tanh(x/2): one hardware tanh, no division.
                String half = tmp(d, "half", ".f32");
                out.op("mul.f32", half, a.get(0), "0f3F000000");
                out.op("tanh.approx.f32", half, half);
                out.op("fma.rn.f32", d, half, "0f3F000000", "0f3F000000");
            }
            case BITLEN -> {
                String zeros = tmp(d, "clz", ".u32");
                out.op("clz.b32", zeros, a.get(0));
                out.op("sub.s32", d, 32, zeros);
            }
            default -> throw new IllegalStateException(op.op() + " on " + op.operandType() + " operands");
        }
    }

    /** PTX's own rewrite: division by a constant becomes a multiplication by its reciprocal (softcap's s / 30 runs per element). */
    private void renderFloatDivide(String d, Instr.Op op, List<String> a) {
        if (program.instrs().get(op.args().get(1)) instanceof Instr.FloatConst(double c) && c != 0) {
            out.op("mul.f32", d, a.get(0), PtxWriter.f32Literal(1.0 / c));
        } else {
            out.op("div.rn.f32", d, a.get(0), a.get(1));
        }
    }

    /** Floored int division or modulo, a zero divisor giving 0 (powers of two arrive as shifts and masks). */
    private void renderFlooredDivide(String d, List<String> a, boolean modulo) {
        String x = a.get(0), y = a.get(1);
        String quotient = tmp(d, "quot", ".s32"), remainder = tmp(d, "rem", ".s32"), signs = tmp(d, "signs", ".b32");
        String inexact = tmp(d, "inexact", ".pred"), opposite = tmp(d, "opposite", ".pred"), zero = tmp(d, "zero", ".pred");
        out.op("rem.s32", remainder, x, y);
        out.op("setp.ne.s32", inexact, remainder, 0);
        out.op("xor.b32", signs, remainder, y);
        out.op("setp.lt.s32", opposite, signs, 0);
        out.op("and.pred", opposite, opposite, inexact);
        out.op("setp.eq.s32", zero, y, 0);
        if (modulo) {
            String adjusted = tmp(d, "adjusted", ".s32");
            out.op("add.s32", adjusted, remainder, y);
            out.op("selp.s32", remainder, adjusted, remainder, opposite);
            out.op("selp.s32", d, 0, remainder, zero);
        } else {
            out.op("div.s32", quotient, x, y);
            String adjusted = tmp(d, "adjusted", ".s32");
            out.op("sub.s32", adjusted, quotient, 1);
            out.op("selp.s32", quotient, adjusted, quotient, opposite);
            out.op("selp.s32", d, 0, quotient, zero);
        }
    }

    private void renderCompare(String d, Opcode code, Type operand, List<String> a) {
        if (operand == Type.BOOL) {
            out.op("xor.pred", d, a.get(0), a.get(1));
            if (code == Opcode.EQ) out.op("not.pred", d, d);
            else if (code != Opcode.NE) throw new IllegalStateException(code + " on bools");
            return;
        }
        String cmp = switch (code) {
            case LT -> "lt"; case LE -> "le"; case GT -> "gt"; case GE -> "ge"; case EQ -> "eq";
            // Java's != is true when either side is NaN: the unordered form.
            default -> operand == Type.FLOAT ? "neu" : "ne";
        };
        out.op("setp." + cmp + (operand == Type.FLOAT ? ".f32" : ".s32"), d, a.get(0), a.get(1));
    }

    private void renderSelect(String d, Type type, List<String> a) {
        String c = a.get(0), t = a.get(1), f = a.get(2);
        if (type != Type.BOOL) {
            out.op("selp" + (type == Type.FLOAT ? ".f32" : ".s32"), d, t, f, c);
            return;
        }
        String whenTrue = tmp(d, "if_true", ".pred"), whenFalse = tmp(d, "if_false", ".pred");
        out.op("and.pred", whenTrue, c, t);
        out.op("not.pred", whenFalse, c);
        out.op("and.pred", whenFalse, whenFalse, f);
        out.op("or.pred", d, whenTrue, whenFalse);
    }
}
