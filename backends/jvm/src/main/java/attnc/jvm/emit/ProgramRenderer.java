package attnc.jvm.emit;

import attnc.ir.DType;
import attnc.ir.Index;
import attnc.ir.Type;
import attnc.lower.Instr;
import attnc.lower.Program;
import java.util.ArrayList;
import java.util.List;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Prints a lowered {@link Program} as bytecode. Kernels keep queries in vector lanes, so in a
 * tile hook a register that depends on q (or on the score s) is a vector local holding one lane
 * per query, and any other register is a scalar local ({@code int}, {@code float},
 * {@code boolean}). The hook loops over query vectors, then over keys, and each register is
 * computed in the outermost place its dependences allow ({@link Program#dependsOn}): neither q
 * nor kv — once per call ({@link #emitUniform}); q but not kv — once per query vector
 * ({@link #emitPerQuery}); kv — per key ({@link #emitPerKey}). A document mask
 * {@code doc[b, q] == doc[b, kv]} thus gathers doc[b, q] once per query vector and loads
 * doc[b, kv] as one scalar per key. Every operation is an {@code invokestatic} of the
 * {@code attnc.jvm.kernel.Lanes} method named after its opcode, with the descriptor picked by the
 * operand shapes, so this class only chooses descriptors and locals: the semantics live in one
 * readable Java class and C2 inlines them. Register i lives in local {@code firstLocal + i}.
 */
final class ProgramRenderer {
    static final String LANES = "attnc/jvm/kernel/Lanes";
    static final String ENV = "attnc/jvm/kernel/Env";
    private static final String INT_VECTOR = "Ljdk/incubator/vector/IntVector;";
    private static final String FLOAT_VECTOR = "Ljdk/incubator/vector/FloatVector;";
    private static final String MASK = "Ljdk/incubator/vector/VectorMask;";

    /** Locals the hook method provides; -1 where the hook has none. {@code qLanes} is the vector of query positions. */
    record Context(int env, int b, int h, int q, int qLanes, int kv, int d, int o, int score) {}

    private final MethodVisitor mv;
    private final Program program;
    private final Slots slots;
    private final Context context;
    private final int firstLocal;
    private final boolean vectorMode;
    private final boolean[] needed;
    private final boolean[] perQuery;

    ProgramRenderer(MethodVisitor mv, Program program, Slots slots, Context context, int firstLocal, boolean vectorMode) {
        this.mv = mv;
        this.program = program;
        this.slots = slots;
        this.context = context;
        this.firstLocal = firstLocal;
        this.vectorMode = vectorMode;
        this.needed = new boolean[program.instrs().size()];
        needed[program.result()] = true;
        for (int i = needed.length - 1; i >= 0; i--) {
            if (needed[i]) for (int r : program.instrs().get(i).reads()) needed[r] = true;
        }
        // The lowering's dependences say which registers change with q; the score s changes with
        // every element, so whatever reads it is per query too.
        this.perQuery = new boolean[needed.length];
        for (int i = 0; i < needed.length; i++) {
            Instr instr = program.instrs().get(i);
            perQuery[i] = program.dependsOn(i).contains(Index.Q) || instr instanceof Instr.Score;
            for (int r : instr.reads()) perQuery[i] |= perQuery[r];
        }
    }

    /** Locals this program occupies, counted from {@code firstLocal}. */
    int localCount() { return needed.length; }

    boolean isVector(int register) { return vectorMode && perQuery[register]; }

    boolean resultIsVector() { return isVector(program.result()); }

    Type resultType() { return program.resultInstr().type(); }

    /** Where a register is computed: 0 once per call, 1 per query vector, 2 per key. */
    private int level(int register) {
        if (program.dependsOn(register).contains(Index.KV)) return 2;
        return isVector(register) ? 1 : 0;
    }

    /** Scalar hooks (no loops) compute everything at once. */
    void emitAll() {
        for (int i = 0; i < needed.length; i++) if (needed[i]) emit(i);
    }

    void emitUniform() { emitLevel(0); }

    void emitPerQuery() { emitLevel(1); }

    void emitPerKey() { emitLevel(2); }

    private void emitLevel(int level) {
        for (int i = 0; i < needed.length; i++) if (needed[i] && level(i) == level) emit(i);
    }

    /** Pushes the result, broadcast to a vector when {@code asVector} and it is a scalar. */
    void pushResult(boolean asVector) { push(program.result(), asVector); }

    /** Frame entries of the registers live at a loop head: those of levels below {@code level}, TOP for the rest. */
    List<Object> frameLocals(int level) {
        List<Object> types = new ArrayList<>();
        for (int i = 0; i < needed.length; i++) types.add(!needed[i] || level(i) >= level ? Opcodes.TOP : frameType(i));
        return types;
    }

    private Object frameType(int register) {
        Type type = program.instrs().get(register).type();
        if (!isVector(register)) return type == Type.FLOAT ? Opcodes.FLOAT : Opcodes.INTEGER;
        String desc = descriptor(type, true);
        return desc.substring(1, desc.length() - 1);
    }

    private void emit(int register) {
        Instr instr = program.instrs().get(register);
        boolean vector = isVector(register);
        switch (instr) {
            case Instr.IntConst(int v) -> mv.visitLdcInsn(v);
            case Instr.FloatConst(double v) -> mv.visitLdcInsn((float) v);
            case Instr.BoolConst(boolean v) -> mv.visitInsn(v ? Opcodes.ICONST_1 : Opcodes.ICONST_0);
            case Instr.IndexValue(var index) -> {
                switch (index) {
                    case B -> load(Opcodes.ILOAD, context.b(), "b");
                    case H -> load(Opcodes.ILOAD, context.h(), "h");
                    case Q -> {
                        if (vector) load(Opcodes.ALOAD, context.qLanes(), "q"); else load(Opcodes.ILOAD, context.q(), "q");
                    }
                    case D -> load(Opcodes.ILOAD, context.d(), "d");
                    case KV -> load(Opcodes.ILOAD, context.kv(), "kv");
                }
            }
            case Instr.SizeValue(String name) -> envArray("sizes", "[I", slots.size(name), Opcodes.IALOAD);
            case Instr.ParamValue(String name, Type type) -> {
                if (type == Type.FLOAT) {
                    envArray("floatParams", "[F", slots.param(name), Opcodes.FALOAD);
                } else {
                    mv.visitVarInsn(Opcodes.ALOAD, context.env());
                    mv.visitFieldInsn(Opcodes.GETFIELD, ENV, "intParams", "[I");
                    mv.visitLdcInsn(slots.param(name));
                    mv.visitMethodInsn(Opcodes.INVOKESTATIC, LANES, type == Type.BOOL ? "loadBool" : "loadInt",
                            "([II)" + (type == Type.BOOL ? "Z" : "I"), false);
                }
            }
            case Instr.Score() -> load(Opcodes.ALOAD, context.score(), "s");
            case Instr.Output() -> load(Opcodes.FLOAD, context.o(), "o");
            case Instr.Op op -> {
                StringBuilder desc = new StringBuilder("(");
                for (int a : op.args()) {
                    push(a, vector);
                    desc.append(descriptor(program.instrs().get(a).type(), vector));
                }
                desc.append(')').append(descriptor(op.type(), vector));
                mv.visitMethodInsn(Opcodes.INVOKESTATIC, LANES, op.op().name(), desc.toString(), false);
            }
            case Instr.Load load -> {
                boolean floats = load.dtype().loadsAs() == Type.FLOAT;
                mv.visitVarInsn(Opcodes.ALOAD, context.env());
                mv.visitFieldInsn(Opcodes.GETFIELD, ENV, floats ? "floats" : "ints", floats ? "[[F" : "[[I");
                mv.visitLdcInsn(slots.input(load.input()));
                mv.visitInsn(Opcodes.AALOAD);
                push(load.offset(), vector);
                String method = floats ? "loadFloat" : load.dtype() == DType.BOOL ? "loadBool" : "loadInt";
                mv.visitMethodInsn(Opcodes.INVOKESTATIC, LANES, method,
                        "(" + (floats ? "[F" : "[I") + descriptor(Type.INT, vector) + ")" + descriptor(load.type(), vector), false);
            }
            case Instr.Member member -> {
                mv.visitVarInsn(Opcodes.ALOAD, context.env());
                mv.visitFieldInsn(Opcodes.GETFIELD, ENV, "ints", "[[I");
                mv.visitLdcInsn(slots.input(member.input()));
                mv.visitInsn(Opcodes.AALOAD);
                push(member.value(), vector);
                push(member.rowOffset(), vector);
                push(member.width(), false);
                String v = descriptor(Type.INT, vector);
                mv.visitMethodInsn(Opcodes.INVOKESTATIC, LANES, "member", "([I" + v + v + "I)" + descriptor(Type.BOOL, vector), false);
            }
        }
        mv.visitVarInsn(storeOpcode(instr.type(), vector), firstLocal + register);
    }

    private void load(int opcode, int local, String what) {
        if (local < 0) throw new IllegalArgumentException("'" + what + "' is not available in this part of the pattern");
        mv.visitVarInsn(opcode, local);
    }

    private void envArray(String field, String desc, int slot, int loadOpcode) {
        mv.visitVarInsn(Opcodes.ALOAD, context.env());
        mv.visitFieldInsn(Opcodes.GETFIELD, ENV, field, desc);
        mv.visitLdcInsn(slot);
        mv.visitInsn(loadOpcode);
    }

    /** Loads a register; a scalar pushed where a vector is wanted is broadcast to every lane. */
    private void push(int register, boolean asVector) {
        Type type = program.instrs().get(register).type();
        boolean vector = isVector(register);
        mv.visitVarInsn(vector ? Opcodes.ALOAD : type == Type.FLOAT ? Opcodes.FLOAD : Opcodes.ILOAD, firstLocal + register);
        if (asVector && !vector) {
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, LANES, "bcast", "(" + descriptor(type, false) + ")" + descriptor(type, true), false);
        }
    }

    private static int storeOpcode(Type type, boolean vector) {
        return vector ? Opcodes.ASTORE : type == Type.FLOAT ? Opcodes.FSTORE : Opcodes.ISTORE;
    }

    static String descriptor(Type type, boolean vector) {
        return switch (type) {
            case INT -> vector ? INT_VECTOR : "I";
            case FLOAT -> vector ? FLOAT_VECTOR : "F";
            case BOOL -> vector ? MASK : "Z";
        };
    }
}
