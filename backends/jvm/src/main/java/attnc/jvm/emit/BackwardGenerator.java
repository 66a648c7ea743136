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
            "sitePartial", "siteOffset");
    private static final Type GRAD_LANES = Type.getObjectType("attnc/jvm/kernel/GradLanes");
    private static final String SCRATCH = "Lattnc/jvm/kernel/GradScratch;";
    private static final String FLOAT_VECTOR = ProgramRenderer.FLOAT_VECTOR.getDescriptor(), INT_VECTOR = ProgramRenderer.INT_VECTOR.getDescriptor();

    private BackwardGenerator() {}

    /** Class bytes for a pattern's backward, with its tile sizes. */
    public static GeneratedKernel generate(LoweredBackward backward, Tiling tiling) {
        String name = KernelGenerator.PACKAGE + "Backward_" + KernelGenerator.sanitize(backward.forward().name()) + "_" + tiling.q() + "x" + tiling.kv();
        Slots slots = new Slots(backward.forward().pattern());
        GeneratedKernel generated = KernelGenerator.copy(BackwardTemplate.class, name, HOOKS, slots, writer -> emitHooks(writer, backward, slots, tiling));
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

    private static void emitHooks(ClassWriter cw, LoweredBackward backward, Slots slots, Tiling tiling) {
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
        KernelGenerator.tileLoops(cw, "scoreTile", pattern.score(), slots, false);
        KernelGenerator.tileLoops(cw, "maskTile", pattern.visibility(), slots, true);
        KernelGenerator.scalarHook(KernelGenerator.method(cw, "outputByO", "(" + KernelGenerator.ENV + "IIIIF)F"),
                new ProgramRenderer.Context(KernelGenerator.ENV_ARG, KernelGenerator.B_ARG, KernelGenerator.H_ARG, ProgramRenderer.Leaf.arg(3),
                        null, null, ProgramRenderer.Leaf.arg(4), ProgramRenderer.Leaf.arg(5), null), backward.outputByO(), slots);
        dsTile(cw, backward.scoreByS(), slots);
        scoreSites(cw, backward.sites(), slots);
        siteHook(cw, "sitePartial", backward.sites(), LoweredBackward.Site::partial, slots, false);
        siteHook(cw, "siteOffset", backward.sites(), LoweredBackward.Site::offset, slots, true);
    }

    /** Tile hook arguments after env, b, h, kv0, keys, q0: s, dS, the query vectors, the lane buffer, (scoreSites) the scratch. */
    private static final int S = 6, DS = 7, VECTORS = 8, LANE_BUFFER = 9, SCRATCH_ARG = 10;

    /** {@code dsTile}, in {@link TileLoop}'s loops: dS[at] = mulOrZero(dS[at], d score/d s) per (key, query vector). */
    private static void dsTile(ClassWriter cw, Program scoreByS, Slots slots) {
        GeneratorAdapter g = KernelGenerator.method(cw, "dsTile", "(" + KernelGenerator.ENV + "IIIII[F[FI[I)V");
        TileLoop loop = new TileLoop(g, VECTORS, LANE_BUFFER);
        int score = g.newLocal(ProgramRenderer.FLOAT_VECTOR);
        ProgramRenderer r = new ProgramRenderer(g, scoreByS, slots, loop.context(ProgramRenderer.Leaf.local(score)), true);
        loop.run(List.of(r), () -> { }, () -> loop.load(S, score), () -> {
            g.loadArg(DS);
            g.loadLocal(loop.at);
            pushFloat(g, r);
            gradLanes(g, "scaleGradient", "([FI" + FLOAT_VECTOR + ")V");
        }, () -> { });
        KernelGenerator.end(g);
    }

    /**
     * {@code scoreSites}, in {@link TileLoop}'s loops: per score site and element,
     * c = mulOrZero(dS, partial); then by the site's kind: element sites hand c with its offsets
     * to the scratch's sink; row sites sum c over the keys in a vector per query vector; column
     * sites add c's lane sum per key; head sites sum c over the tile.
     */
    private static void scoreSites(ClassWriter cw, List<LoweredBackward.Site> sites, Slots slots) {
        GeneratorAdapter g = KernelGenerator.method(cw, "scoreSites", "(" + KernelGenerator.ENV + "IIIII[F[FI[I" + SCRATCH + ")V");
        TileLoop loop = new TileLoop(g, VECTORS, LANE_BUFFER);
        int score = g.newLocal(ProgramRenderer.FLOAT_VECTOR), upstream = g.newLocal(ProgramRenderer.FLOAT_VECTOR);
        int contribution = g.newLocal(ProgramRenderer.FLOAT_VECTOR);
        List<ProgramRenderer> renderers = new ArrayList<>();
        List<ScoreSite> scored = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            LoweredBackward.Site site = sites.get(i);
            if (site.section() != Section.SCORE) continue;
            GradSite kind = kind(site);
            ProgramRenderer.Context context = loop.context(ProgramRenderer.Leaf.local(score));
            ProgramRenderer partial = new ProgramRenderer(g, site.partial(), slots, context, true);
            ProgramRenderer offset = kind == GradSite.SCORE_ELEMENT ? new ProgramRenderer(g, site.offset(), slots, context, true) : null;
            int sum = kind == GradSite.SCORE_ROW || kind == GradSite.SCORE_HEAD ? g.newLocal(ProgramRenderer.FLOAT_VECTOR) : -1;
            renderers.add(partial);
            if (offset != null) renderers.add(offset);
            scored.add(new ScoreSite(i, kind, partial, offset, sum));
        }
        for (ScoreSite s : scored) if (s.kind() == GradSite.SCORE_HEAD) zero(g, s.sum());
        loop.run(renderers, () -> {
            for (ScoreSite s : scored) if (s.kind() == GradSite.SCORE_ROW) zero(g, s.sum());
        }, () -> {
            loop.load(S, score);
            loop.load(DS, upstream);
        }, () -> {
            for (ScoreSite s : scored) {
                g.loadLocal(upstream);
                pushFloat(g, s.partial());
                gradLanes(g, "mulOrZero", "(" + FLOAT_VECTOR + FLOAT_VECTOR + ")" + FLOAT_VECTOR);
                g.storeLocal(contribution);
                switch (s.kind()) {
                    case SCORE_ELEMENT -> {
                        g.loadArg(SCRATCH_ARG);
                        g.push(s.index());
                        s.offset().pushResult(true);
                        g.loadLocal(contribution);
                        gradLanes(g, "addElements", "(" + SCRATCH + "I" + INT_VECTOR + FLOAT_VECTOR + ")V");
                    }
                    case SCORE_COLUMN -> {
                        g.loadArg(SCRATCH_ARG);
                        g.push(s.index());
                        g.loadLocal(loop.j);
                        g.loadLocal(contribution);
                        gradLanes(g, "addColumn", "(" + SCRATCH + "II" + FLOAT_VECTOR + ")V");
                    }
                    default -> {
                        g.loadLocal(s.sum());
                        g.loadLocal(contribution);
                        g.invokeStatic(ProgramRenderer.LANES, new Method("ADD", "(" + FLOAT_VECTOR + FLOAT_VECTOR + ")" + FLOAT_VECTOR));
                        g.storeLocal(s.sum());
                    }
                }
            }
        }, () -> {
            for (ScoreSite s : scored) {
                if (s.kind() != GradSite.SCORE_ROW) continue;
                g.loadArg(SCRATCH_ARG);
                g.push(s.index());
                g.loadLocal(loop.v);
                g.loadLocal(s.sum());
                gradLanes(g, "addRow", "(" + SCRATCH + "II" + FLOAT_VECTOR + ")V");
            }
        });
        for (ScoreSite s : scored) {
            if (s.kind() != GradSite.SCORE_HEAD) continue;
            g.loadArg(SCRATCH_ARG);
            g.push(s.index());
            g.loadLocal(s.sum());
            gradLanes(g, "addHead", "(" + SCRATCH + "I" + FLOAT_VECTOR + ")V");
        }
        KernelGenerator.end(g);
    }

    /** A score site in {@code scoreSites}: its number, kind, renderers and, for row and head sites, its vector of sums. */
    private record ScoreSite(int index, GradSite kind, ProgramRenderer partial, ProgramRenderer offset, int sum) {}

    /**
     * {@code static float sitePartial(int site, Env env, int b, int h, int q, int kv, int d, float s, float o)}
     * (or {@code int siteOffset(...)}): the program of site {@code site}, all scalar.
     */
    private static void siteHook(ClassWriter cw, String name, List<LoweredBackward.Site> sites, Function<LoweredBackward.Site, Program> program,
                                 Slots slots, boolean offset) {
        GeneratorAdapter g = KernelGenerator.method(cw, name, "(I" + KernelGenerator.ENV + "IIIIIFF)" + (offset ? "I" : "F"));
        var context = new ProgramRenderer.Context(ProgramRenderer.Leaf.arg(1), ProgramRenderer.Leaf.arg(2), ProgramRenderer.Leaf.arg(3),
                ProgramRenderer.Leaf.arg(4), null, ProgramRenderer.Leaf.arg(5), ProgramRenderer.Leaf.arg(6), ProgramRenderer.Leaf.arg(8),
                ProgramRenderer.Leaf.arg(7));
        for (int i = 0; i < sites.size(); i++) {
            Label next = new Label();
            g.loadArg(0);
            g.push(i);
            g.ifICmp(GeneratorAdapter.NE, next);
            ProgramRenderer r = new ProgramRenderer(g, program.apply(sites.get(i)), slots, context, false);
            r.emitAll();
            r.pushResult(false);
            if (!offset && r.resultType() == attnc.ir.Type.INT) g.visitInsn(Opcodes.I2F);
            g.returnValue();
            g.mark(next);
        }
        if (offset) g.push(0); else g.push(0f);
        KernelGenerator.end(g);
    }

    /** Pushes a float program's result as a vector (ints converted). */
    private static void pushFloat(GeneratorAdapter g, ProgramRenderer r) {
        r.pushResult(true);
        if (r.resultType() == attnc.ir.Type.INT) {
            g.invokeStatic(ProgramRenderer.LANES, new Method("I2F", "(" + INT_VECTOR + ")" + FLOAT_VECTOR));
        }
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
