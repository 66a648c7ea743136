package attnc.jvm.emit;

import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.jvm.kernel.FlashTemplate;
import attnc.lower.Instr;
import attnc.lower.Lowering;
import attnc.lower.Program;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.commons.ClassRemapper;
import org.objectweb.asm.commons.SimpleRemapper;

/**
 * Generates one kernel class per pattern: the bytecode of {@link FlashTemplate} copied under a new
 * name ({@link ClassRemapper}), with its hook methods dropped and re-emitted from the pattern's
 * lowered programs ({@link ProgramRenderer}). Why a template rather than emitting the whole
 * kernel: the tiling, packing and online softmax are pattern-independent and far easier to read,
 * test and tune as Java; only the hooks differ, and because each pattern has its own copy of
 * the driver, every hook call site is monomorphic and C2 inlines the pattern into the loop.
 *
 * <p>The result is an ordinary class file: {@link GeneratedKernel#bytes()} can be loaded as a
 * hidden class ({@link attnc.jvm.kernel.KernelLoader}) or written to disk (the Maven plugin,
 * export, {@code -Dattnc.dump=DIR}); it needs only the {@code attnc.jvm.kernel} runtime classes.
 */
public final class KernelGenerator {
    private static final String TEMPLATE = FlashTemplate.class.getName().replace('.', '/');
    private static final String PACKAGE = "attnc/jvm/kernel/";
    private static final Set<String> HOOKS = Set.of("tileQSize", "tileKvSize", "norm", "hasScore", "hasMask",
            "hasNormValue", "hasOutput", "rowScale", "normValue", "scoreTile", "maskTile", "output");
    private static final String ENV = "L" + ProgramRenderer.ENV + ";";
    private static final String TILE_HOOK = "(" + ENV + "IIIII[FI)";

    /**
     * Default keys per tile. With 128 queries × 128 keys the per-tile work (softmax per column,
     * packing, classification) is amortised over the most FMAs while the tile's buffers still
     * fit in L2; measured on this 2-core AVX-512 machine at D = 64 (single thread, GFLOP per
     * CPU-second): 64×64 ≈ 104, 128×64 ≈ 98, 64×128 ≈ 86, 128×128 ≈ 120.
     */
    public static final int DEFAULT_TILE_KV = 128;

    private KernelGenerator() {}

    /** Class bytes for a pattern (already optimised by {@link attnc.pass.Passes}), with tile sizes. */
    public static GeneratedKernel generate(Pattern pattern, int tileQ, int tileKv) {
        int lanes = attnc.jvm.kernel.Lanes.L;
        if (tileQ <= 0 || tileQ % lanes != 0) throw new IllegalArgumentException("tile q must be a positive multiple of " + lanes + " (one vector), got " + tileQ);
        if (tileKv <= 0 || tileKv % 4 != 0) throw new IllegalArgumentException("tile kv must be a positive multiple of 4, got " + tileKv);
        String name = PACKAGE + "Flash_" + sanitize(pattern.name()) + "_" + tileQ + "x" + tileKv;
        Slots slots = new Slots(pattern);
        Hooks hooks = Hooks.of(pattern);
        ClassWriter writer = new ClassWriter(ClassWriter.COMPUTE_MAXS);
        ClassVisitor dropHooks = new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String method, String desc, String signature, String[] exceptions) {
                return HOOKS.contains(method) ? null : super.visitMethod(access, method, desc, signature, exceptions);
            }

            @Override
            public void visitEnd() {
                emitHooks(writer, hooks, slots, tileQ, tileKv);
                super.visitEnd();
            }
        };
        new ClassReader(templateBytes()).accept(new ClassRemapper(dropHooks, new SimpleRemapper(TEMPLATE, name)), 0);
        return new GeneratedKernel(name.replace('/', '.'), writer.toByteArray(), slots);
    }

    /** Default queries per tile: 8 vectors (128 with AVX-512), two register blocks wide (see {@link #DEFAULT_TILE_KV}). */
    public static int defaultTileQ() { return 8 * attnc.jvm.kernel.Lanes.L; }

    /** The pattern's lowered parts, and which of them are trivial (their hook is then skipped). */
    record Hooks(Program scale, Program score, Program mask, Optional<Program> normValue, Program output, int norm) {
        static Hooks of(Pattern p) {
            Optional<Expr> normExpr = switch (p.norm()) {
                case Norm.Softmax(Optional<Expr> sink) -> sink;
                case Norm.Sigmoid(Expr bias) -> Optional.of(bias);
                case Norm.Identity() -> Optional.empty();
            };
            int norm = switch (p.norm()) { case Norm.Softmax s -> 0; case Norm.Sigmoid s -> 1; case Norm.Identity i -> 2; };
            Hooks hooks = new Hooks(Lowering.lower(p, p.scale()), Lowering.lower(p, p.score()), Lowering.lower(p, p.visibility()),
                    normExpr.map(e -> Lowering.lower(p, e)), Lowering.lower(p, p.output()), norm);
            requireIndependent(hooks.scale, "scale", Index.KV, Index.D);
            hooks.normValue.ifPresent(v -> requireIndependent(v, "the normalisation's value", Index.KV, Index.D));
            requireIndependent(hooks.output, "output", Index.KV);
            requireIndependent(hooks.score, "score", Index.D);
            requireIndependent(hooks.mask, "mask", Index.D);
            return hooks;
        }

        boolean hasScore() { return !(score.resultInstr() instanceof Instr.Score); }
        boolean hasMask() { return !(mask.resultInstr() instanceof Instr.BoolConst(boolean v) && v); }
        boolean hasOutput() { return !(output.resultInstr() instanceof Instr.Output); }

        private static void requireIndependent(Program program, String part, Index... indices) {
            for (Index i : indices) {
                if (program.dependsOn(program.result()).contains(i)) {
                    throw new IllegalArgumentException("the JVM backend cannot compile a " + part + " that depends on " + i);
                }
            }
        }
    }

    private static void emitHooks(ClassWriter cw, Hooks hooks, Slots slots, int tileQ, int tileKv) {
        constant(cw, "tileQSize", tileQ);
        constant(cw, "tileKvSize", tileKv);
        constant(cw, "norm", hooks.norm());
        flag(cw, "hasScore", hooks.hasScore());
        flag(cw, "hasMask", hooks.hasMask());
        flag(cw, "hasNormValue", hooks.normValue().isPresent());
        flag(cw, "hasOutput", hooks.hasOutput());
        rowValue(cw, "rowScale", hooks.scale(), slots);
        rowValue(cw, "normValue", hooks.normValue().orElse(Lowering.lower(Pattern.of("zero", new Expr.BoolLit(true)), new Expr.FloatLit(0))), slots);
        tileLoops(cw, "scoreTile", hooks.score(), slots, false);
        tileLoops(cw, "maskTile", hooks.mask(), slots, true);
        outputHook(cw, hooks.output(), slots);
    }

    private static void constant(ClassWriter cw, String name, int value) {
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_STATIC, name, "()I", null, null);
        mv.visitCode();
        mv.visitLdcInsn(value);
        mv.visitInsn(Opcodes.IRETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    private static void flag(ClassWriter cw, String name, boolean value) {
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_STATIC, name, "()Z", null, null);
        mv.visitCode();
        mv.visitInsn(value ? Opcodes.ICONST_1 : Opcodes.ICONST_0);
        mv.visitInsn(Opcodes.IRETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    /** {@code static float name(Env env, int b, int h, int q)}: a per-row value, all scalar. */
    private static void rowValue(ClassWriter cw, String name, Program program, Slots slots) {
        scalarHook(cw, name, "(" + ENV + "III)F", new ProgramRenderer.Context(0, 1, 2, 3, -1, -1, -1, -1, -1), 4, program, slots);
    }

    /** {@code static float output(Env env, int b, int h, int q, int d, float o)}. */
    private static void outputHook(ClassWriter cw, Program program, Slots slots) {
        scalarHook(cw, "output", "(" + ENV + "IIIIF)F", new ProgramRenderer.Context(0, 1, 2, 3, -1, -1, 4, 5, -1), 6, program, slots);
    }

    /** A static method returning the program's value as a float, its arguments in the locals {@code context} names. */
    private static void scalarHook(ClassWriter cw, String name, String descriptor, ProgramRenderer.Context context, int firstFreeLocal,
                                   Program program, Slots slots) {
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_STATIC, name, descriptor, null, null);
        mv.visitCode();
        ProgramRenderer r = new ProgramRenderer(mv, program, slots, context, firstFreeLocal, false);
        r.emitAll();
        r.pushResult(false);
        toFloat(mv, r.resultType());
        mv.visitInsn(Opcodes.FRETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    private static void toFloat(MethodVisitor mv, Type type) {
        if (type == Type.INT) mv.visitInsn(Opcodes.I2F);
    }

    private static final String INT_VECTOR = "jdk/incubator/vector/IntVector";
    private static final int ENV_LOCAL = 0, B = 1, H = 2, KV0 = 3, KEYS = 4, Q0 = 5, ARRAY = 6, VECTORS = 7,
            COUNT = 8, V = 9, J = 10, Q_LANES = 11, KV = 12, SCORE = 13, REGISTERS = 14;

    /**
     * {@code scoreTile} (rewrites s with the score expression) or {@code maskTile} (writes 0/−∞
     * to bias and returns the visible count) over a tile laid out [key j][query i], i.e. at
     * {@code j·(vectors·L) + i}, for keys kv0 .. kv0 + keys and queries q0 .. q0 + vectors·L:
     * <pre>
     *   uniform registers
     *   for v in 0 until vectors:       q lanes = q0 + v·L + (0 .. L-1); per-query registers
     *     for j in 0 until keys:        kv = kv0 + j; per-key registers; store the result
     * </pre>
     */
    private static void tileLoops(ClassWriter cw, String name, Program program, Slots slots, boolean mask) {
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_STATIC, name, TILE_HOOK + (mask ? "I" : "V"), null, null);
        mv.visitCode();
        var context = new ProgramRenderer.Context(ENV_LOCAL, B, H, -1, Q_LANES, KV, -1, -1, SCORE);
        ProgramRenderer r = new ProgramRenderer(mv, program, slots, context, REGISTERS, true);
        mv.visitInsn(Opcodes.ICONST_0);
        mv.visitVarInsn(Opcodes.ISTORE, COUNT);
        r.emitUniform();
        mv.visitInsn(Opcodes.ICONST_0);
        mv.visitVarInsn(Opcodes.ISTORE, V);
        Label outer = new Label(), outerEnd = new Label(), inner = new Label(), innerEnd = new Label();
        Object[] outerFrame = frame(r, 1, false);
        mv.visitLabel(outer);
        mv.visitFrame(Opcodes.F_FULL, outerFrame.length, outerFrame, 0, new Object[0]);
        mv.visitVarInsn(Opcodes.ILOAD, V);
        mv.visitVarInsn(Opcodes.ILOAD, VECTORS);
        mv.visitJumpInsn(Opcodes.IF_ICMPGE, outerEnd);
        mv.visitVarInsn(Opcodes.ILOAD, Q0);
        vectorOffset(mv);
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, ProgramRenderer.LANES, "lanes", "(I)L" + INT_VECTOR + ";", false);
        mv.visitVarInsn(Opcodes.ASTORE, Q_LANES);
        r.emitPerQuery();
        mv.visitInsn(Opcodes.ICONST_0);
        mv.visitVarInsn(Opcodes.ISTORE, J);
        Object[] innerFrame = frame(r, 2, true);
        mv.visitLabel(inner);
        mv.visitFrame(Opcodes.F_FULL, innerFrame.length, innerFrame, 0, new Object[0]);
        mv.visitVarInsn(Opcodes.ILOAD, J);
        mv.visitVarInsn(Opcodes.ILOAD, KEYS);
        mv.visitJumpInsn(Opcodes.IF_ICMPGE, innerEnd);
        mv.visitVarInsn(Opcodes.ILOAD, KV0);
        mv.visitVarInsn(Opcodes.ILOAD, J);
        mv.visitInsn(Opcodes.IADD);
        mv.visitVarInsn(Opcodes.ISTORE, KV);
        if (!mask) {
            mv.visitVarInsn(Opcodes.ALOAD, ARRAY);
            elementOffset(mv);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, ProgramRenderer.LANES, "scores", "([FI)Ljdk/incubator/vector/FloatVector;", false);
            mv.visitVarInsn(Opcodes.ASTORE, SCORE);
        }
        r.emitPerKey();
        if (mask) {
            mv.visitVarInsn(Opcodes.ILOAD, COUNT);
            r.pushResult(false);
            mv.visitVarInsn(Opcodes.ALOAD, ARRAY);
            elementOffset(mv);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, ProgramRenderer.LANES, "storeBias",
                    "(" + ProgramRenderer.descriptor(Type.BOOL, r.resultIsVector()) + "[FI)I", false);
            mv.visitInsn(Opcodes.IADD);
            mv.visitVarInsn(Opcodes.ISTORE, COUNT);
        } else {
            r.pushResult(true);
            if (r.resultType() == Type.INT) {
                mv.visitMethodInsn(Opcodes.INVOKESTATIC, ProgramRenderer.LANES, "I2F",
                        "(L" + INT_VECTOR + ";)Ljdk/incubator/vector/FloatVector;", false);
            }
            mv.visitVarInsn(Opcodes.ALOAD, ARRAY);
            elementOffset(mv);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, ProgramRenderer.LANES, "storeScores", "(Ljdk/incubator/vector/FloatVector;[FI)V", false);
        }
        mv.visitIincInsn(J, 1);
        mv.visitJumpInsn(Opcodes.GOTO, inner);
        mv.visitLabel(innerEnd);
        mv.visitFrame(Opcodes.F_FULL, innerFrame.length, innerFrame, 0, new Object[0]);
        mv.visitIincInsn(V, 1);
        mv.visitJumpInsn(Opcodes.GOTO, outer);
        mv.visitLabel(outerEnd);
        mv.visitFrame(Opcodes.F_FULL, outerFrame.length, outerFrame, 0, new Object[0]);
        if (mask) {
            mv.visitVarInsn(Opcodes.ILOAD, COUNT);
            mv.visitInsn(Opcodes.IRETURN);
        } else {
            mv.visitInsn(Opcodes.RETURN);
        }
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    /** Locals at a loop head: the parameters, counters, and the registers of lower levels. */
    private static Object[] frame(ProgramRenderer r, int level, boolean inner) {
        List<Object> frame = new ArrayList<>(List.of(ProgramRenderer.ENV, Opcodes.INTEGER, Opcodes.INTEGER, Opcodes.INTEGER,
                Opcodes.INTEGER, Opcodes.INTEGER, "[F", Opcodes.INTEGER, Opcodes.INTEGER, Opcodes.INTEGER,
                inner ? Opcodes.INTEGER : Opcodes.TOP, inner ? INT_VECTOR : Opcodes.TOP, Opcodes.TOP, Opcodes.TOP));
        frame.addAll(r.frameLocals(level));
        while (frame.getLast() == Opcodes.TOP) frame.removeLast();
        return frame.toArray();
    }

    /** Adds v·L to the int on the stack. */
    private static void vectorOffset(MethodVisitor mv) {
        mv.visitVarInsn(Opcodes.ILOAD, V);
        mv.visitFieldInsn(Opcodes.GETSTATIC, ProgramRenderer.LANES, "L", "I");
        mv.visitInsn(Opcodes.IMUL);
        mv.visitInsn(Opcodes.IADD);
    }

    /** Pushes j·(vectors·L) + v·L: where the current (key, query vector) starts in the tile. */
    private static void elementOffset(MethodVisitor mv) {
        mv.visitVarInsn(Opcodes.ILOAD, J);
        mv.visitVarInsn(Opcodes.ILOAD, VECTORS);
        mv.visitInsn(Opcodes.IMUL);
        mv.visitVarInsn(Opcodes.ILOAD, V);
        mv.visitInsn(Opcodes.IADD);
        mv.visitFieldInsn(Opcodes.GETSTATIC, ProgramRenderer.LANES, "L", "I");
        mv.visitInsn(Opcodes.IMUL);
    }

    private static byte[] templateBytes() {
        try (InputStream in = FlashTemplate.class.getResourceAsStream("FlashTemplate.class")) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel template", e);
        }
    }

    private static String sanitize(String name) {
        String s = name.replaceAll("[^A-Za-z0-9_]", "_");
        return s.isEmpty() ? "pattern" : s;
    }
}
