package attnc.lower;

import attnc.gen.Point;
import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Semantics;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * Runs a {@link Program} one instruction after another, as a backend's straight-line code would,
 * with every register kept (Integer, Double or Boolean) so tests can look at all of them.
 */
final class ProgramInterpreter {
    private final Binding binding;
    private final Map<String, Tensor> inputs;

    ProgramInterpreter(Binding binding, Map<String, Tensor> inputs) {
        this.binding = binding;
        this.inputs = inputs;
    }

    Object[] registers(Program program, Point at) {
        Object[] r = new Object[program.instrs().size()];
        for (int i = 0; i < r.length; i++) r[i] = execute(program.instrs().get(i), r, at);
        return r;
    }

    Object result(Program program, Point at) {
        return registers(program, at)[program.result()];
    }

    private Object execute(Instr instr, Object[] r, Point at) {
        return switch (instr) {
            case Instr.IntConst(int v) -> v;
            case Instr.FloatConst(double v) -> v;
            case Instr.BoolConst(boolean v) -> v;
            case Instr.IndexValue iv -> switch (iv.index()) {
                case B -> at.b();
                case H -> at.h();
                case Q -> at.q();
                case KV -> at.kv();
                case D -> at.d();
            };
            case Instr.SizeValue(String name) -> binding.size(name);
            case Instr.ParamValue(String name, Type type) -> switch (binding.params().get(name)) {
                case attnc.ir.Expr.IntLit(int v) -> type == Type.FLOAT ? (Object) (double) v : (Object) v;
                case attnc.ir.Expr.FloatLit(double v) -> v;
                case attnc.ir.Expr.BoolLit(boolean v) -> v;
                default -> throw new IllegalStateException("param " + name + " is not a literal");
            };
            case Instr.Score s -> at.s();
            case Instr.Output o -> at.o();
            case Instr.Load load -> {
                Tensor t = inputs.get(load.input());
                int flat = (Integer) r[load.offset()];
                yield switch (load.dtype().loadsAs()) {
                    case FLOAT -> (Object) (double) t.floats()[flat];
                    case INT -> t.ints()[flat];
                    case BOOL -> t.ints()[flat] != 0;
                };
            }
            case Instr.Member m -> {
                Tensor t = inputs.get(m.input());
                int value = (Integer) r[m.value()], row = (Integer) r[m.rowOffset()], width = (Integer) r[m.width()];
                boolean found = false;
                for (int i = 0; i < width; i++) found |= t.ints()[row + i] == value;
                yield found;
            }
            case Instr.Op op -> operation(op, r);
        };
    }

    private static Object operation(Instr.Op op, Object[] r) {
        Object a = r[op.args().getFirst()];
        Object b = op.args().size() > 1 ? r[op.args().get(1)] : null;
        Type operands = op.operandType();
        return switch (op.op()) {
            case ADD, SUB, MUL, DIV, MOD, SHL, SHR, BIT_AND, BIT_OR, BIT_XOR -> {
                BinaryOp binary = BinaryOp.valueOf(op.op().name());
                yield operands == Type.INT ? (Object) Semantics.intBinary(binary, (Integer) a, (Integer) b)
                        : (Object) Semantics.floatBinary(binary, (Double) a, (Double) b);
            }
            case LT, LE, GT, GE, EQ, NE -> {
                BinaryOp compare = BinaryOp.valueOf(op.op().name());
                yield switch (operands) {
                    case INT -> Semantics.intCompare(compare, (Integer) a, (Integer) b);
                    case FLOAT -> Semantics.floatCompare(compare, (Double) a, (Double) b);
                    case BOOL -> compare == BinaryOp.EQ ? a.equals(b) : !a.equals(b);
                };
            }
            case AND -> (Boolean) a && (Boolean) b;
            case OR -> (Boolean) a || (Boolean) b;
            case NOT -> !(Boolean) a;
            case BIT_NOT -> ~(Integer) a;
            case NEG -> operands == Type.INT ? (Object) (-(Integer) a) : (Object) (-(Double) a);
            case SELECT -> (Boolean) a ? b : r[op.args().get(2)];
            case MIN -> operands == Type.INT ? (Object) Math.min((Integer) a, (Integer) b) : (Object) Math.min((Double) a, (Double) b);
            case MAX -> operands == Type.INT ? (Object) Math.max((Integer) a, (Integer) b) : (Object) Math.max((Double) a, (Double) b);
            case ABS -> operands == Type.INT ? (Object) Math.abs((Integer) a) : (Object) Math.abs((Double) a);
            case EXP, LOG, LOG2, SQRT, TANH, SIGMOID, FLOOR -> Semantics.floatCall(Builtin.valueOf(op.op().name()), (Double) a);
            case BITLEN -> Semantics.bitlen((Integer) a);
            case I2F -> (double) (Integer) a;
            case F2I -> Semantics.toInt((Double) a);
        };
    }
}
