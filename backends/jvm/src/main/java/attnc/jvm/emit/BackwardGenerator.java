package attnc.jvm.emit;

import attnc.grad.Section;
import attnc.ir.Index;
import attnc.jvm.kernel.BackwardTemplate;
import attnc.jvm.kernel.GradSite;
import attnc.lower.Instr;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.commons.GeneratorAdapter;
import org.objectweb.asm.commons.Method;

/**
 * Generates one backward class per pattern: {@link BackwardTemplate}'s bytecode under a new name
 * with its hooks rendered from the pattern's {@link LoweredBackward}, as {@link KernelGenerator}
 * does for the forward (whose hook emitters it shares for the scale, norm value, score and
 * mask). Its own hooks: d output/d o per element; d score/d s over a tile ({@code dsTile}); every
 * score site's dS · partial over a tile, reduced as the site's element allows ({@code scoreSites});
 * and each site's partial and element offset one element at a time, selected by site number.
 * Its vector exp, log and tanh are {@link attnc.jvm.kernel.ExactLanes}', whose bits do not depend
 * on the JIT.
 */
public final class BackwardGenerator {
    private static final Set<String> HOOKS = Set.of("tileQSize", "tileKvSize", "norm", "hasScore", "hasMask", "hasNormValue",
            "hasOutput", "hasScoreByS", "rowScale", "normValue", "scoreTile", "maskTile", "outputByO", "dsTile", "scoreSites",
            "sitePartial", "siteOffset", "floatSpills", "intSpills");
    private static final Type GRAD_LANES = Type.getObjectType("attnc/jvm/kernel/GradLanes");
    private static final String SCRATCH = "Lattnc/jvm/kernel/GradScratch;";
    private static final String FLOAT_VECTOR = ProgramRenderer.FLOAT_VECTOR.getDescriptor(), INT_VECTOR = ProgramRenderer.INT_VECTOR.getDescriptor();

    private BackwardGenerator() {}

    /** Class bytes for a pattern's backward, with its tile sizes. */
    public static GeneratedKernel generate(LoweredBackward backward, Tiling tiling) { return generate(backward, tiling, KernelGenerator.PASS_BYTES); }

    /** Class bytes for a pattern's backward, with its tile sizes, no method of its tile hooks over {@code passBytes} bytes. */
    public static GeneratedKernel generate(LoweredBackward backward, Tiling tiling, int passBytes) {
        String name = KernelGenerator.PACKAGE + "Backward_" + KernelGenerator.sanitize(backward.forward().name()) + "_" + tiling.q() + "x" + tiling.kv();
        Slots slots = new Slots(backward.forward().pattern());
        GeneratedKernel generated = KernelGenerator.copy(BackwardTemplate.class, name, HOOKS, slots,
                writer -> emitHooks(new TileHook.Target(writer, name, slots, tiling, passBytes), backward));
        return new GeneratedKernel(generated.className(), withExactMath(generated.bytes()), slots);
    }

    private static final Set<String> INEXACT = Set.of("EXP", "LOG", "LOG2", "TANH", "SIGMOID");
    private static final String EXACT_LANES = "attnc/jvm/kernel/ExactLanes";

    /**
     * The class with every vector exp, log and tanh of its hooks calling {@link attnc.jvm.kernel.ExactLanes}
     * instead of {@link attnc.jvm.kernel.Lanes}: the same bits however far the JIT has compiled it,
     * as the deterministic mode needs (the forward keeps Lanes' faster library calls). Only an owner
     * changes, so the class's frames stand.
     */
    private static byte[] withExactMath(byte[] bytes) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                return new MethodVisitor(Opcodes.ASM9, super.visitMethod(access, name, descriptor, signature, exceptions)) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String method, String desc, boolean isInterface) {
                        boolean inexact = owner.equals(ProgramRenderer.LANES.getInternalName()) && INEXACT.contains(method)
                                && desc.equals("(" + FLOAT_VECTOR + ")" + FLOAT_VECTOR);
                        super.visitMethodInsn(opcode, inexact ? EXACT_LANES : owner, method, desc, isInterface);
                    }
                };
            }
        }, 0);
        return writer.toByteArray();
    }

    /** How a site's gradient is reduced: by section, and for score sites by the indices its element leaves out. */
    public static GradSite kind(LoweredBackward.Site site) {
        return switch (site.section()) {
            case SCORE -> {
                boolean perRow = site.summedOver().contains(Index.KV), perColumn = site.summedOver().contains(Index.Q);
                yield perRow && perColumn ? GradSite.SCORE_HEAD : perRow ? GradSite.SCORE_ROW : perColumn ? GradSite.SCORE_COLUMN : GradSite.SCORE_ELEMENT;
            }
            case SCALE -> GradSite.SCALE;
            case NORM -> GradSite.NORM;
            case OUTPUT -> GradSite.OUTPUT;
        };
    }

    private static void emitHooks(TileHook.Target target, LoweredBackward backward) {
        ClassWriter cw = target.cw();
        Slots slots = target.slots();
        Tiling tiling = target.tiling();
        LoweredPattern pattern = backward.forward();
        KernelGenerator.constant(cw, "tileQSize", tiling.q());
        KernelGenerator.constant(cw, "tileKvSize", tiling.kv());
        KernelGenerator.normalisation(cw, pattern.norm());
        KernelGenerator.flag(cw, "hasScore", !pattern.identityScore());
        KernelGenerator.flag(cw, "hasMask", !pattern.alwaysVisible());
        KernelGenerator.flag(cw, "hasNormValue", pattern.norm().value().isPresent());
        KernelGenerator.flag(cw, "hasOutput", !pattern.identityOutput());
        KernelGenerator.flag(cw, "hasScoreByS", !(backward.scoreByS().resultInstr() instanceof Instr.FloatConst(double v) && v == 1.0));
        KernelGenerator.rowValue(cw, "rowScale", pattern.scale(), slots);
        pattern.norm().value().ifPresentOrElse(value -> KernelGenerator.rowValue(cw, "normValue", value, slots), () -> KernelGenerator.zeroRowValue(cw));
        KernelGenerator.scalarHook(KernelGenerator.method(cw, "outputByO", "(" + KernelGenerator.ENV + "IIIIF)F"),
                new ProgramRenderer.Context(KernelGenerator.ENV_ARG, KernelGenerator.B_ARG, KernelGenerator.H_ARG, ProgramRenderer.Leaf.arg(3),
                        null, null, ProgramRenderer.Leaf.arg(4), ProgramRenderer.Leaf.arg(5), null), backward.outputByO(), slots);
        KernelGenerator.spillSlots(cw, KernelGenerator.scoreTile(target, pattern.score()), KernelGenerator.maskTile(target, pattern.visibility()),
                dsTile(target, backward.scoreByS()), scoreSites(target, backward.sites()));
        siteHook(target, "sitePartial", backward.sites(), LoweredBackward.Site::partial, false);
        siteHook(target, "siteOffset", backward.sites(), LoweredBackward.Site::offset, true);
    }

    /** Tile hook arguments after env, b, h, kv0, keys, q0: s, dS, the query vectors, the lane buffer, the spill arrays, (scoreSites) the scratch. */
    private static final int S = 6, DS = 7, VECTORS = 8, LANE_BUFFER = 9, SPILL = 10, SCRATCH_ARG = 12;
    private static final String TILE_ARGUMENTS = "(" + KernelGenerator.ENV + "IIIII[F[FI[I[F[I";

    /** {@code dsTile}, in {@link TileLoop}'s loops: dS[at] = mulOrZero(dS[at], d score/d s) per (key, query vector). */
    private static PassPlanner.Plan dsTile(TileHook.Target target, Program scoreByS) {
        // dS and at (4), d score/d s as a float vector (≤ 8), the call (3).
        TileHook.Sink scale = new TileHook.Sink(List.of(0), 15, pass -> TileHook.Code.element(() -> {
            pass.g().loadArg(DS);
            pass.g().loadLocal(pass.loop().at);
            pass.pushFloatVector(0);
            gradLanes(pass.g(), "scaleGradient", "([FI" + FLOAT_VECTOR + ")V");
        }));
        return TileHook.emit(target, new TileHook.Shape("dsTile", TILE_ARGUMENTS + ")V", VECTORS, LANE_BUFFER, SPILL), List.of(scoreByS),
                loop -> loop.context(S), List.of(scale));
    }

    /**
     * {@code scoreSites}, in {@link TileLoop}'s loops: per score site and element,
     * c = mulOrZero(dS, partial); then by the site's kind: element sites hand c with its offsets
     * to the scratch's sink; row sites sum c over the keys in a vector per query vector; column
     * sites add c's lane sum per key; head sites sum c over the tile. Each site is a sink of its
     * own, so that a split hook sums each site within one pass.
     */
    private static PassPlanner.Plan scoreSites(TileHook.Target target, List<LoweredBackward.Site> sites) {
        List<Program> programs = new ArrayList<>();
        List<TileHook.Sink> sinks = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            LoweredBackward.Site site = sites.get(i);
            if (site.section() != Section.SCORE) continue;
            GradSite kind = kind(site);
            int partial = programs.size(), offset = kind == GradSite.SCORE_ELEMENT ? partial + 1 : -1;
            programs.add(site.partial());
            if (offset >= 0) programs.add(site.offset());
            sinks.add(siteSink(i, kind, partial, offset));
        }
        return TileHook.emit(target, new TileHook.Shape("scoreSites", TILE_ARGUMENTS + SCRATCH + ")V", VECTORS, LANE_BUFFER, SPILL), programs,
                loop -> loop.context(S), sinks);
    }

    /**
     * Site {@code index}'s sink, reading its partial (and, for an element site, its offset) from
     * the programs at those positions. Bytes: c (20), then by kind its reduction: element 15;
     * column 12; row 27 (the sum's zero, add, and hand-over per query vector); head 25.
     */
    private static TileHook.Sink siteSink(int index, GradSite kind, int partial, int offset) {
        int bytes = 20 + switch (kind) {
            case SCORE_ELEMENT -> 15;
            case SCORE_COLUMN -> 12;
            case SCORE_ROW -> 27;
            default -> 25;
        };
        return new TileHook.Sink(offset < 0 ? List.of(partial) : List.of(partial, offset), bytes, pass -> {
            GeneratorAdapter g = pass.g();
            TileLoop loop = pass.loop();
            int contribution = g.newLocal(ProgramRenderer.FLOAT_VECTOR);
            int sum = kind == GradSite.SCORE_ROW || kind == GradSite.SCORE_HEAD ? g.newLocal(ProgramRenderer.FLOAT_VECTOR) : -1;
            if (kind == GradSite.SCORE_HEAD) zero(g, sum);
            Runnable element = () -> {
                loop.pushElement(DS);
                pass.pushFloatVector(partial);
                gradLanes(g, "mulOrZero", "(" + FLOAT_VECTOR + FLOAT_VECTOR + ")" + FLOAT_VECTOR);
                g.storeLocal(contribution);
                switch (kind) {
                    case SCORE_ELEMENT -> {
                        g.loadArg(SCRATCH_ARG);
                        g.push(index);
                        pass.renderers().get(offset).pushResult(true);
                        g.loadLocal(contribution);
                        gradLanes(g, "addElements", "(" + SCRATCH + "I" + INT_VECTOR + FLOAT_VECTOR + ")V");
                    }
                    case SCORE_COLUMN -> {
                        g.loadArg(SCRATCH_ARG);
                        g.push(index);
                        g.loadLocal(loop.j);
                        g.loadLocal(contribution);
                        gradLanes(g, "addColumn", "(" + SCRATCH + "II" + FLOAT_VECTOR + ")V");
                    }
                    default -> {
                        g.loadLocal(sum);
                        g.loadLocal(contribution);
                        g.invokeStatic(ProgramRenderer.LANES, new Method("ADD", "(" + FLOAT_VECTOR + FLOAT_VECTOR + ")" + FLOAT_VECTOR));
                        g.storeLocal(sum);
                    }
                }
            };
            Runnable beforeKeys = () -> {
                if (kind == GradSite.SCORE_ROW) zero(g, sum);
            };
            Runnable afterKeys = () -> {
                if (kind != GradSite.SCORE_ROW) return;
                g.loadArg(SCRATCH_ARG);
                g.push(index);
                g.loadLocal(loop.v);
                g.loadLocal(sum);
                gradLanes(g, "addRow", "(" + SCRATCH + "II" + FLOAT_VECTOR + ")V");
            };
            Runnable end = () -> {
                if (kind != GradSite.SCORE_HEAD) return;
                g.loadArg(SCRATCH_ARG);
                g.push(index);
                g.loadLocal(sum);
                gradLanes(g, "addHead", "(" + SCRATCH + "I" + FLOAT_VECTOR + ")V");
            };
            return new TileHook.Code(beforeKeys, element, afterKeys, end);
        });
    }

    /**
     * {@code static float sitePartial(int site, Env env, int b, int h, int q, int kv, int d, float s, float o)}
     * (or {@code int siteOffset(...)}): the program of site {@code site}, all scalar, each site's
     * in a method {@code name$i} of its own, which this one calls by the site's number: one method
     * of every site's program would be too large for C2 to inline where the sites' gradients are added.
     */
    private static void siteHook(TileHook.Target target, String name, List<LoweredBackward.Site> sites,
                                 Function<LoweredBackward.Site, Program> program, boolean offset) {
        ClassWriter cw = target.cw();
        String descriptor = "(I" + KernelGenerator.ENV + "IIIIIFF)" + (offset ? "I" : "F");
        var context = new ProgramRenderer.Context(ProgramRenderer.Leaf.arg(1), ProgramRenderer.Leaf.arg(2), ProgramRenderer.Leaf.arg(3),
                ProgramRenderer.Leaf.arg(4), null, ProgramRenderer.Leaf.arg(5), ProgramRenderer.Leaf.arg(6), ProgramRenderer.Leaf.arg(8),
                ProgramRenderer.Leaf.arg(7));
        for (int i = 0; i < sites.size(); i++) {
            GeneratorAdapter g = KernelGenerator.method(cw, name + "$" + i, descriptor);
            ProgramRenderer r = new ProgramRenderer(g, program.apply(sites.get(i)), target.slots(), context, false);
            r.emitAll();
            r.pushResult(false);
            if (!offset && r.resultType() == attnc.ir.Type.INT) g.visitInsn(Opcodes.I2F);
            KernelGenerator.end(g);
        }
        GeneratorAdapter g = KernelGenerator.method(cw, name, descriptor);
        for (int i = 0; i < sites.size(); i++) {
            Label next = new Label();
            g.loadArg(0);
            g.push(i);
            g.ifICmp(GeneratorAdapter.NE, next);
            g.loadArgs();
            g.invokeStatic(Type.getObjectType(target.owner()), new Method(name + "$" + i, descriptor));
            g.returnValue();
            g.mark(next);
        }
        if (offset) g.push(0); else g.push(0f);
        KernelGenerator.end(g);
    }

    private static void zero(GeneratorAdapter g, int local) {
        g.push(0f);
        g.invokeStatic(ProgramRenderer.LANES, new Method("bcast", "(F)" + FLOAT_VECTOR));
        g.storeLocal(local);
    }

    private static void gradLanes(GeneratorAdapter g, String method, String descriptor) {
        g.invokeStatic(GRAD_LANES, new Method(method, descriptor));
    }
}
