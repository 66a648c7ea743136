package attnc.jvm.emit;

import attnc.ir.DType;
import attnc.lower.Instr;
import attnc.lower.Program;
import attnc.lower.Program.Level;
import java.util.Set;
import org.objectweb.asm.Type;
import org.objectweb.asm.commons.GeneratorAdapter;
import org.objectweb.asm.commons.Method;

/**
 * Prints a lowered {@link Program} as bytecode. Kernels keep queries in vector lanes, so in a
 * tile hook a register whose {@link Level} varies along rows (it depends on q, or on the score s)
 * is a vector local holding one lane per query, and any other register is a scalar local
 * ({@code int}, {@code float}, {@code boolean}). The hook loops over query vectors, then over
 * keys, and computes each register where its level puts it: UNIFORM once per call, ROW once
 * per query vector, COL and ELEMENT per key. A document mask {@code doc[b, q] == doc[b, kv]}
 * thus gathers doc[b, q] once per query vector and loads doc[b, kv] as one scalar per key.
 * Every operation is an {@code invokestatic} of the {@code attnc.jvm.kernel.Lanes} method named
 * after its opcode, with the descriptor picked by the operand shapes, so this class only
 * chooses descriptors and locals: the semantics live in one readable Java class and C2 inlines
 * them. Locals come from the method's {@link GeneratorAdapter#newLocal}.
 */
final class ProgramRenderer {
    static final Type LANES = Type.getObjectType("attnc/jvm/kernel/Lanes");
    static final Type ENV = Type.getObjectType("attnc/jvm/kernel/Env");
    static final Type INT_VECTOR = Type.getObjectType("jdk/incubator/vector/IntVector");
    static final Type FLOAT_VECTOR = Type.getObjectType("jdk/incubator/vector/FloatVector");
    static final Type MASK = Type.getObjectType("jdk/incubator/vector/VectorMask");

    /** Pushes a value the hook already has: a method argument or a local of its loops. */
    interface Leaf {
        void push(GeneratorAdapter g);

        static Leaf arg(int index) { return g -> g.loadArg(index); }

        static Leaf local(int local) { return g -> g.loadLocal(local); }
    }

    /**
     * The leaves a hook provides; null where it has none. {@code qLanes} is the vector of query
     * positions; {@code lanes} the thread's int buffer that vector gathers and lane loops use.
     */
    record Context(Leaf env, Leaf b, Leaf h, Leaf q, Leaf qLanes, Leaf kv, Leaf d, Leaf o, Leaf score, Leaf lanes) {
        /** A scalar hook's leaves: no vectors, so no lane buffer. */
        Context(Leaf env, Leaf b, Leaf h, Leaf q, Leaf qLanes, Leaf kv, Leaf d, Leaf o, Leaf score) {
            this(env, b, h, q, qLanes, kv, d, o, score, null);
        }
    }

    private final GeneratorAdapter g;
    private final Program program;
    private final Slots slots;
    private final Context context;
    private final boolean vectorMode;
    private final PassPlanner.Part part;
    private final SpillAccess spill;
    private final int[] locals;

    /** Renders the whole program. */
    ProgramRenderer(GeneratorAdapter g, Program program, Slots slots, Context context, boolean vectorMode) {
        this(g, program, slots, context, vectorMode, PassPlanner.Part.whole(program), null);
    }

    /**
     * Renders the registers {@code part} computes and loads those it loads, through {@code spill}
     * (null where the part spills nothing): one pass of a split hook.
     */
    ProgramRenderer(GeneratorAdapter g, Program program, Slots slots, Context context, boolean vectorMode, PassPlanner.Part part, SpillAccess spill) {
        this.g = g;
        this.program = program;
        this.slots = slots;
        this.context = context;
        this.vectorMode = vectorMode;
        this.part = part;
        this.spill = spill;
        this.locals = new int[program.instrs().size()];
        for (int i = 0; i < locals.length; i++) locals[i] = part.uses(i) ? g.newLocal(type(program.instrs().get(i).type(), isVector(i))) : -1;
    }

    /**
     * Program {@code program} read through {@code first}'s registers, the two on one instruction
     * list ({@link PassPlanner.Sharing}): it computes nothing itself and pushes its result from
     * {@code first}'s locals.
     */
    ProgramRenderer(ProgramRenderer first, Program program) {
        this.g = first.g;
        this.program = program;
        this.slots = first.slots;
        this.context = first.context;
        this.vectorMode = first.vectorMode;
        this.part = PassPlanner.Part.whole(program, new java.util.BitSet());
        this.spill = first.spill;
        this.locals = first.locals;
    }

    private boolean isVector(int register) { return isVector(program, register, vectorMode); }

    private static boolean isVector(Program program, int register, boolean vectorMode) {
        return vectorMode && program.level(register).variesAlongRows();
    }

    boolean resultIsVector() { return isVector(program.result()); }

    attnc.ir.Type resultType() { return program.resultInstr().type(); }

    /** Computes every live register, in order: for scalar hooks, which have no loops. */
    void emitAll() { emit(Set.of(Level.values())); }

    /**
     * Computes (or loads from the spill) the part's registers of the given levels, in order (a
     * register reads only lower ones), storing those a later pass reads.
     */
    void emit(Set<Level> levels) {
        for (int i = 0; i < locals.length; i++) {
            if (!part.uses(i) || !levels.contains(program.level(i))) continue;
            attnc.ir.Type type = program.instrs().get(i).type();
            if (part.loaded().get(i)) {
                spill.load(type, isVector(i), program.level(i), part.spills()[i]);
                g.storeLocal(locals[i]);
                continue;
            }
            emit(i);
            if (part.stores(i)) {
                g.loadLocal(locals[i]);
                spill.store(type, isVector(i), program.level(i), part.spills()[i]);
            }
        }
    }

    /** Pushes the result, broadcast to a vector when {@code asVector} and it is a scalar. */
    void pushResult(boolean asVector) { push(program.result(), asVector); }

    private void emit(int register) {
        Instr instr = program.instrs().get(register);
        boolean vector = isVector(register);
        switch (instr) {
            case Instr.IntConst(int v) -> g.push(v);
            case Instr.FloatConst(double v) -> g.push((float) v);
            case Instr.BoolConst(boolean v) -> g.push(v);
            case Instr.IndexValue(var index) -> {
                switch (index) {
                    case B -> leaf(context.b(), "b");
                    case H -> leaf(context.h(), "h");
                    case Q -> leaf(vector ? context.qLanes() : context.q(), "q");
                    case D -> leaf(context.d(), "d");
                    case KV -> leaf(context.kv(), "kv");
                }
            }
            case Instr.SizeValue(String name) -> envElement("sizes", "[I", slots.size(name), Type.INT_TYPE);
            case Instr.ParamValue(String name, attnc.ir.Type type) -> {
                if (type == attnc.ir.Type.FLOAT) {
                    envElement("floatParams", "[F", slots.param(name), Type.FLOAT_TYPE);
                } else {
                    envField("intParams", "[I");
                    g.push(slots.param(name));
                    lanes(type == attnc.ir.Type.BOOL ? "loadBool" : "loadInt", "([II)" + (type == attnc.ir.Type.BOOL ? "Z" : "I"));
                }
            }
            case Instr.Score() -> leaf(context.score(), "s");
            case Instr.Output() -> leaf(context.o(), "o");
            case Instr.Op op -> {
                StringBuilder desc = new StringBuilder("(");
                for (int a : op.args()) {
                    push(a, vector);
                    desc.append(descriptor(program.instrs().get(a).type(), vector));
                }
                if (vector && runsLaneByLane(op)) {
                    leaf(context.lanes(), "the lane buffer");
                    desc.append("[I");
                }
                desc.append(')').append(descriptor(op.type(), vector));
                lanes(op.op().name(), desc.toString());
            }
            case Instr.Load load -> {
                boolean floats = load.dtype().loadsAs() == attnc.ir.Type.FLOAT;
                envField(floats ? "floats" : "ints", floats ? "[[F" : "[[I");
                g.push(slots.input(load.input()));
                g.arrayLoad(Type.getType(floats ? "[F" : "[I"));
                push(load.offset(), vector);
                if (vector) leaf(context.lanes(), "the lane buffer");
                String method = floats ? "loadFloat" : load.dtype() == DType.BOOL ? "loadBool" : "loadInt";
                lanes(method, "(" + (floats ? "[F" : "[I") + descriptor(attnc.ir.Type.INT, vector) + (vector ? "[I" : "") + ")"
                        + descriptor(load.type(), vector));
            }
            case Instr.Member member -> {
                envField("ints", "[[I");
                g.push(slots.input(member.input()));
                g.arrayLoad(Type.getType("[I"));
                push(member.value(), vector);
                push(member.rowOffset(), vector);
                push(member.width(), false);
                if (vector) leaf(context.lanes(), "the lane buffer");
                String v = descriptor(attnc.ir.Type.INT, vector);
                lanes("member", "([I" + v + v + "I" + (vector ? "[I" : "") + ")" + descriptor(attnc.ir.Type.BOOL, vector));
            }
        }
        g.storeLocal(locals[register]);
    }

    /**
     * Bytecode sizes {@link #bytes} counts with: a local's load or store (of an argument 0 to 3,
     * as env, b and h are in every hook, 1), a call, a constant, a field.
     */
    private static final int LOCAL = 2, FIRST_ARGS = 1, CALL = 3, CONSTANT = 3, FIELD = 3;

    /**
     * An upper bound of the bytes {@link #emit(int)} writes for {@code register} (its store
     * included), for {@link PassPlanner}: locals below 256, so loads and stores take at most 2.
     */
    static int bytes(Program program, int register, boolean vectorMode) {
        Instr instr = program.instrs().get(register);
        boolean vector = isVector(program, register, vectorMode);
        int env = FIRST_ARGS + FIELD, table = env + CONSTANT + 1;
        int body = switch (instr) {
            case Instr.IntConst(int v) -> v >= -1 && v <= 5 ? 1 : v == (byte) v ? 2 : CONSTANT;
            case Instr.FloatConst(double v) -> (float) v == 0f || (float) v == 1f || (float) v == 2f ? 1 : CONSTANT;
            case Instr.BoolConst c -> 1;
            case Instr.IndexValue(var index) -> index == attnc.ir.Index.B || index == attnc.ir.Index.H ? FIRST_ARGS : LOCAL;
            case Instr.Output o -> LOCAL;
            // A tile hook's s is the vector at the element's position of its array.
            case Instr.Score s -> LOCAL + LOCAL + CALL;
            case Instr.SizeValue s -> table;
            case Instr.ParamValue p -> table + CALL;
            case Instr.Op op -> {
                int args = CALL + (vector && runsLaneByLane(op) ? LOCAL : 0) + (vector && expands(op) ? EXPANSION : 0);
                for (int a : op.args()) args += operandBytes(program, a, vector, vectorMode);
                yield args;
            }
            case Instr.Load load -> table + operandBytes(program, load.offset(), vector, vectorMode) + (vector ? LOCAL : 0) + CALL;
            case Instr.Member m -> table + operandBytes(program, m.value(), vector, vectorMode)
                    + operandBytes(program, m.rowOffset(), vector, vectorMode) + LOCAL + (vector ? LOCAL : 0) + CALL;
        };
        return body + LOCAL;
    }

    /**
     * Bytes counted besides its call for a vector operation that C2 inlines as a long polynomial
     * (exp, log, tanh, sigmoid: {@link attnc.jvm.kernel.VectorMath}, and the backward's
     * {@link attnc.jvm.kernel.ExactLanes}), so that a pass holds less else: its few bytes of call
     * grow into thousands of nodes, and a 250-byte pass of decayed_linear's backward with one
     * ExactLanes.EXP passed C2's NodeCountInliningCutoff (still at 100 bytes for it, a 213-byte pass). Still an upper bound of the bytecode.
     */
    private static final int EXPANSION = 200;

    private static boolean expands(Instr.Op op) {
        return switch (op.op()) {
            case EXP, LOG, LOG2, TANH, SIGMOID -> true;
            default -> false;
        };
    }

    /** An operand's load, and its broadcast where a scalar is read as a vector. */
    private static int operandBytes(Program program, int register, boolean asVector, boolean vectorMode) {
        return LOCAL + (asVector && !isVector(program, register, vectorMode) ? CALL : 0);
    }

    /** Whether {@link attnc.jvm.kernel.Lanes} runs this vector operation lane by lane, through the lane buffer. */
    private static boolean runsLaneByLane(Instr.Op op) {
        return switch (op.op()) {
            case DIV, MOD -> op.operandType() == attnc.ir.Type.INT;
            case FLOOR, F2I -> true;
            default -> false;
        };
    }

    private void leaf(Leaf leaf, String what) {
        if (leaf == null) throw new IllegalArgumentException("'" + what + "' is not available in this part of the pattern");
        leaf.push(g);
    }

    private void envField(String field, String desc) {
        leaf(context.env(), "env");
        g.getField(ENV, field, Type.getType(desc));
    }

    private void envElement(String field, String desc, int slot, Type element) {
        envField(field, desc);
        g.push(slot);
        g.arrayLoad(element);
    }

    private void lanes(String method, String descriptor) {
        g.invokeStatic(LANES, new Method(method, descriptor));
    }

    /** Loads a register; a scalar pushed where a vector is wanted is broadcast to every lane. */
    private void push(int register, boolean asVector) {
        attnc.ir.Type type = program.instrs().get(register).type();
        g.loadLocal(locals[register]);
        if (asVector && !isVector(register)) lanes("bcast", "(" + descriptor(type, false) + ")" + descriptor(type, true));
    }

    static String descriptor(attnc.ir.Type type, boolean vector) {
        return type(type, vector).getDescriptor();
    }

    static Type type(attnc.ir.Type type, boolean vector) {
        return switch (type) {
            case INT -> vector ? INT_VECTOR : Type.INT_TYPE;
            case FLOAT -> vector ? FLOAT_VECTOR : Type.FLOAT_TYPE;
            case BOOL -> vector ? MASK : Type.BOOLEAN_TYPE;
        };
    }
}
