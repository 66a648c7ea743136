package attnc.jvm.emit;

import attnc.jvm.kernel.DecodeTemplate;
import attnc.jvm.kernel.FlashTemplate;
import attnc.jvm.kernel.Normalisation;
import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.commons.ClassRemapper;
import org.objectweb.asm.commons.GeneratorAdapter;
import org.objectweb.asm.commons.Method;
import org.objectweb.asm.commons.SimpleRemapper;

/**
 * Generates one kernel class per pattern: the bytecode of {@link FlashTemplate} copied under a new
 * name ({@link ClassRemapper}), with its hook methods dropped and re-emitted from the lowered
 * pattern's programs ({@link ProgramRenderer}). Why a template rather than emitting the whole
 * kernel: the tiling, packing and online softmax are pattern-independent and far easier to read,
 * test and tune as Java; only the hooks differ, and because each pattern has its own copy of
 * the driver, every hook call site is monomorphic and C2 inlines the pattern into the loop.
 *
 * <p>The result is an ordinary class file: {@link GeneratedKernel#bytes()} can be loaded as a
 * hidden class ({@link attnc.jvm.kernel.KernelLoader}) or written to disk (the Maven plugin,
 * export, {@code -Dattnc.dump=DIR}); it refers to nothing outside {@code attnc.jvm.kernel} and
 * the JDK. Locals and stack frames are ASM's to allocate and compute.
 */
public final class KernelGenerator {
    static final String PACKAGE = "attnc/jvm/kernel/";
    private static final Set<String> HOOKS = Set.of("tileQSize", "tileKvSize", "norm", "hasScore", "hasMask",
            "hasNormValue", "hasOutput", "rowScale", "normValue", "scoreTile", "maskTile", "output", "floatSpills", "intSpills");
    private static final Type NORMALISATION = Type.getType(Normalisation.class);
    static final String ENV = ProgramRenderer.ENV.getDescriptor();
    /**
     * Bytes of bytecode one method of a tile hook may take ({@link PassPlanner}): a larger hook is
     * split into passes. Generators take another budget only where tests force passes.
     */
    public static final int PASS_BYTES = PassPlanner.BUDGET;

    private KernelGenerator() {}

    /** Class bytes for a lowered pattern, with its tile sizes. */
    public static GeneratedKernel generate(LoweredPattern pattern, Tiling tiling) { return generate(pattern, tiling, PASS_BYTES); }

    /** Class bytes for a lowered pattern, with its tile sizes, no method of its tile hooks over {@code passBytes} bytes. */
    public static GeneratedKernel generate(LoweredPattern pattern, Tiling tiling, int passBytes) {
        String name = PACKAGE + "Flash_" + sanitize(pattern.name()) + "_" + tiling.q() + "x" + tiling.kv();
        Slots slots = new Slots(pattern.pattern());
        return copy(FlashTemplate.class, name, HOOKS, slots, writer -> emitHooks(new TileHook.Target(writer, name, slots, tiling, passBytes), pattern));
    }

    /**
     * The decode class for a lowered pattern ({@link DecodeTemplate} with the same hooks), with
     * {@code tileKv} keys per tile; its query tile is one vector (the hooks are told how many).
     */
    public static GeneratedKernel generateDecode(LoweredPattern pattern, int tileKv) { return generateDecode(pattern, tileKv, PASS_BYTES); }

    /** {@link #generateDecode(LoweredPattern, int)}, no method of its tile hooks over {@code passBytes} bytes. */
    public static GeneratedKernel generateDecode(LoweredPattern pattern, int tileKv, int passBytes) {
        Tiling tiling = new Tiling(attnc.jvm.kernel.Lanes.L, tileKv);
        String name = PACKAGE + "Decode_" + sanitize(pattern.name()) + "_" + tileKv;
        Slots slots = new Slots(pattern.pattern());
        return copy(DecodeTemplate.class, name, HOOKS, slots, writer -> emitHooks(new TileHook.Target(writer, name, slots, tiling, passBytes), pattern));
    }

    /**
     * A template class's bytecode under {@code name} (internal form), with the methods named in
     * {@code hooks} dropped and replaced by what {@code emitHooks} writes.
     */
    static GeneratedKernel copy(Class<?> template, String name, Set<String> hooks, Slots slots, Consumer<ClassWriter> emitHooks) {
        ClassWriter writer = new FrameComputingWriter(name);
        ClassVisitor dropHooks = new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String method, String desc, String signature, String[] exceptions) {
                return hooks.contains(method) ? null : super.visitMethod(access, method, desc, signature, exceptions);
            }

            @Override
            public void visitEnd() {
                emitHooks.accept(writer);
                super.visitEnd();
            }
        };
        String templateName = Type.getInternalName(template);
        new ClassReader(templateBytes(template)).accept(new ClassRemapper(dropHooks, new SimpleRemapper(templateName, name)), ClassReader.SKIP_FRAMES);
        return new GeneratedKernel(name.replace('/', '.'), writer.toByteArray(), slots);
    }

    private static void emitHooks(TileHook.Target target, LoweredPattern pattern) {
        ClassWriter cw = target.cw();
        Slots slots = target.slots();
        Tiling tiling = target.tiling();
        constant(cw, "tileQSize", tiling.q());
        constant(cw, "tileKvSize", tiling.kv());
        normalisation(cw, pattern.norm());
        flag(cw, "hasScore", !pattern.identityScore());
        flag(cw, "hasMask", !pattern.alwaysVisible());
        flag(cw, "hasNormValue", pattern.norm().value().isPresent());
        flag(cw, "hasOutput", !pattern.identityOutput());
        rowValue(cw, "rowScale", pattern.scale(), slots);
        pattern.norm().value().ifPresentOrElse(value -> rowValue(cw, "normValue", value, slots), () -> zeroRowValue(cw));
        spillSlots(cw, scoreTile(target, pattern.score()), maskTile(target, pattern.visibility()));
        outputHook(cw, pattern.output(), slots);
    }

    static GeneratorAdapter method(ClassWriter cw, String name, String descriptor) {
        GeneratorAdapter g = new GeneratorAdapter(Opcodes.ACC_STATIC, new Method(name, descriptor), null, null, cw);
        g.visitCode();
        return g;
    }

    static void end(GeneratorAdapter g) {
        g.returnValue();
        g.endMethod();
    }

    static void constant(ClassWriter cw, String name, int value) {
        GeneratorAdapter g = method(cw, name, "()I");
        g.push(value);
        end(g);
    }

    static void flag(ClassWriter cw, String name, boolean value) {
        GeneratorAdapter g = method(cw, name, "()Z");
        g.push(value);
        end(g);
    }

    static void normalisation(ClassWriter cw, LoweredNorm norm) {
        GeneratorAdapter g = method(cw, "norm", "()" + NORMALISATION.getDescriptor());
        Normalisation kind = switch (norm) {
            case LoweredNorm.Softmax s -> Normalisation.SOFTMAX;
            case LoweredNorm.Sigmoid s -> Normalisation.SIGMOID;
            case LoweredNorm.Identity i -> Normalisation.NONE;
        };
        g.getStatic(NORMALISATION, kind.name(), NORMALISATION);
        end(g);
    }

    static final ProgramRenderer.Leaf ENV_ARG = ProgramRenderer.Leaf.arg(0), B_ARG = ProgramRenderer.Leaf.arg(1),
            H_ARG = ProgramRenderer.Leaf.arg(2);

    /** {@code static float name(Env env, int b, int h, int q)}: a per-row value, all scalar. */
    static void rowValue(ClassWriter cw, String name, Program program, Slots slots) {
        scalarHook(method(cw, name, "(" + ENV + "III)F"),
                new ProgramRenderer.Context(ENV_ARG, B_ARG, H_ARG, ProgramRenderer.Leaf.arg(3), null, null, null, null, null), program, slots);
    }

    /** The norm value of a norm that has none: never called, but the template refers to it. */
    static void zeroRowValue(ClassWriter cw) {
        GeneratorAdapter g = method(cw, "normValue", "(" + ENV + "III)F");
        g.push(0f);
        end(g);
    }

    /** {@code static float output(Env env, int b, int h, int q, int d, float o)}. */
    private static void outputHook(ClassWriter cw, Program program, Slots slots) {
        scalarHook(method(cw, "output", "(" + ENV + "IIIIF)F"), new ProgramRenderer.Context(ENV_ARG, B_ARG, H_ARG,
                ProgramRenderer.Leaf.arg(3), null, null, ProgramRenderer.Leaf.arg(4), ProgramRenderer.Leaf.arg(5), null), program, slots);
    }

    /** Returns the program's value as a float. */
    static void scalarHook(GeneratorAdapter g, ProgramRenderer.Context context, Program program, Slots slots) {
        ProgramRenderer r = new ProgramRenderer(g, program, slots, context, false);
        r.emitAll();
        r.pushResult(false);
        if (r.resultType() == attnc.ir.Type.INT) g.visitInsn(Opcodes.I2F);
        end(g);
    }

    /** Tile hook arguments after env, b, h, kv0, keys, q0: the tile's array, its query vectors, the lane buffer, the spill arrays. */
    private static final int ARRAY = 6, VECTORS = 7, LANE_BUFFER = 8, SPILL = 9;
    private static final String TILE_ARGUMENTS = "(" + ENV + "IIIII[FI[I[F[I)";
    private static final String FLOAT_VECTOR = ProgramRenderer.FLOAT_VECTOR.getDescriptor();

    /**
     * {@code scoreTile}: rewrites s with the score expression over a tile laid out [key j][query i],
     * i.e. at {@code j·(vectors·L) + i}, for keys kv0 .. kv0 + keys and queries q0 .. q0 + vectors·L,
     * in {@link TileLoop}'s loops.
     */
    static PassPlanner.Plan scoreTile(TileHook.Target target, Program score) {
        // The result as a float vector (≤ 8 bytes), the array and at (4), the call (3).
        TileHook.Sink store = new TileHook.Sink(List.of(0), 15, pass -> TileHook.Code.element(() -> {
            pass.pushFloatVector(0);
            pass.g().loadArg(ARRAY);
            pass.g().loadLocal(pass.loop().at);
            pass.g().invokeStatic(ProgramRenderer.LANES, new Method("storeScores", "(" + FLOAT_VECTOR + "[FI)V"));
        }));
        return TileHook.emit(target, new TileHook.Shape("scoreTile", TILE_ARGUMENTS + "V", VECTORS, LANE_BUFFER, SPILL), List.of(score),
                loop -> loop.context(ARRAY), List.of(store));
    }

    /** {@code maskTile}: writes 0 (visible) or −∞ to the tile's bias, laid out as {@link #scoreTile}'s scores; returns the visible count. */
    static PassPlanner.Plan maskTile(TileHook.Target target, Program visibility) {
        // The count's set-up (3), its sum per element (14) and its load for the return (2).
        TileHook.Sink count = new TileHook.Sink(List.of(0), 19, pass -> {
            GeneratorAdapter g = pass.g();
            int visible = g.newLocal(Type.INT_TYPE);
            g.push(0);
            g.storeLocal(visible);
            ProgramRenderer r = pass.renderers().getFirst();
            return new TileHook.Code(() -> { }, () -> {
                g.loadLocal(visible);
                r.pushResult(false);
                g.loadArg(ARRAY);
                g.loadLocal(pass.loop().at);
                g.invokeStatic(ProgramRenderer.LANES, new Method("storeBias",
                        "(" + ProgramRenderer.descriptor(attnc.ir.Type.BOOL, r.resultIsVector()) + "[FI)I"));
                g.math(GeneratorAdapter.ADD, Type.INT_TYPE);
                g.storeLocal(visible);
            }, () -> { }, () -> g.loadLocal(visible));
        });
        return TileHook.emit(target, new TileHook.Shape("maskTile", TILE_ARGUMENTS + "I", VECTORS, LANE_BUFFER, SPILL), List.of(visibility),
                loop -> loop.context(-1), List.of(count));
    }

    /** {@code floatSpills()} and {@code intSpills()}: the slots the split tile hooks need, each a tile's worth of floats or ints. */
    static void spillSlots(ClassWriter cw, PassPlanner.Plan... plans) {
        constant(cw, "floatSpills", java.util.Arrays.stream(plans).mapToInt(PassPlanner.Plan::floatSlots).max().orElse(0));
        constant(cw, "intSpills", java.util.Arrays.stream(plans).mapToInt(PassPlanner.Plan::intSlots).max().orElse(0));
    }

    /**
     * Computes maxima and frames. Merging two reference types needs their common super class,
     * which ASM finds by loading both classes through this backend's class loader; the generated
     * class itself cannot be loaded yet (it extends Object, so Object is its answer).
     */
    private static final class FrameComputingWriter extends ClassWriter {
        private final String generated;

        FrameComputingWriter(String generated) {
            super(ClassWriter.COMPUTE_FRAMES);
            this.generated = generated;
        }

        @Override
        protected String getCommonSuperClass(String type1, String type2) {
            if (type1.equals(generated) || type2.equals(generated)) return "java/lang/Object";
            return super.getCommonSuperClass(type1, type2);
        }

        @Override
        protected ClassLoader getClassLoader() { return KernelGenerator.class.getClassLoader(); }
    }

    private static byte[] templateBytes(Class<?> template) {
        try (InputStream in = template.getResourceAsStream(template.getSimpleName() + ".class")) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel template", e);
        }
    }

    static String sanitize(String name) {
        String s = name.replaceAll("[^A-Za-z0-9_]", "_");
        return s.isEmpty() ? "pattern" : s;
    }
}
