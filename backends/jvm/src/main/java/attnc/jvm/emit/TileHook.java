package attnc.jvm.emit;

import attnc.lower.Program;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Function;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Type;
import org.objectweb.asm.commons.GeneratorAdapter;
import org.objectweb.asm.commons.Method;

/**
 * Emits a tile hook, forward or backward: its programs computed in {@link TileLoop}'s loops and
 * its sinks, which take their results (store a score, count a mask, add a gradient). One method
 * where the whole fits the pass budget; else the passes {@link PassPlanner} plans, methods
 * {@code name$0}, {@code name$1}, ... with the hook's arguments, which the hook calls in order
 * (the last returns the hook's value).
 */
final class TileHook {
    private TileHook() {}

    /**
     * The class hooks are written into: its writer and internal name, the launch slots its
     * programs read, its tiles, and the bytes of bytecode one pass may take
     * ({@link PassPlanner#BUDGET} but in tests that force passes).
     */
    record Target(ClassWriter cw, String owner, Slots slots, Tiling tiling, int passBytes) {}

    /**
     * A tile hook's method: its name and descriptor (arguments env, b, h, kv0, keys, q0, ...), and
     * where its vector count, lane buffer and spill arrays (float[], then int[]) are.
     */
    record Shape(String name, String descriptor, int vectorsArg, int lanesArg, int spillArg) {}

    /** The method a sink is emitted in: its adapter, loops and one renderer per program. */
    record Pass(GeneratorAdapter g, TileLoop loop, List<ProgramRenderer> renderers) {
        /** Pushes a program's result as a float vector (ints converted, scalars broadcast). */
        void pushFloatVector(int program) {
            ProgramRenderer r = renderers.get(program);
            r.pushResult(true);
            if (r.resultType() == attnc.ir.Type.INT) {
                g.invokeStatic(ProgramRenderer.LANES, new Method("I2F",
                        "(" + ProgramRenderer.INT_VECTOR.getDescriptor() + ")" + ProgramRenderer.FLOAT_VECTOR.getDescriptor()));
            }
        }
    }

    /** What a sink emits in its pass's loops: per query vector before and after the keys, per element, and before the return. */
    record Code(Runnable beforeKeys, Runnable element, Runnable afterKeys, Runnable end) {
        static Code element(Runnable element) { return new Code(() -> { }, element, () -> { }, () -> { }); }
    }

    /**
     * What a hook does with the results of the programs {@code reads}, at most {@code bytes} of
     * bytecode; {@code open} emits its set-up at its pass's start (its locals) and returns the rest.
     * A hook that returns a value has one sink, and its {@code end} pushes that value.
     */
    record Sink(List<Integer> reads, int bytes, Function<Pass, Code> open) {}

    /** Emits the hook; returns its plan, whose slots the kernel's spill arrays must hold. */
    static PassPlanner.Plan emit(Target target, Shape shape, List<Program> programs, Function<TileLoop, ProgramRenderer.Context> context,
                                 List<Sink> sinks) {
        PassPlanner.Plan plan = PassPlanner.plan(programs, sinks.stream().map(s -> new PassPlanner.SinkNeeds(s.reads(), s.bytes())).toList(),
                TileLoop.BYTES, target.passBytes());
        List<PassPlanner.Pass> passes = plan.passes();
        if (passes.size() == 1) {
            pass(target, shape, shape.name(), shape.descriptor(), passes.getFirst(), programs, context, sinks);
            return plan;
        }
        String voidPass = Type.getMethodDescriptor(Type.VOID_TYPE, Type.getArgumentTypes(shape.descriptor()));
        List<String> names = new ArrayList<>();
        for (int k = 0; k < passes.size(); k++) {
            names.add(shape.name() + "$" + k);
            pass(target, shape, names.getLast(), k == passes.size() - 1 ? shape.descriptor() : voidPass, passes.get(k), programs, context, sinks);
        }
        calls(target, shape.name(), shape.descriptor(), names);
        return plan;
    }

    /**
     * Method {@code name}, which calls {@code callees} (same arguments; the last returns what
     * {@code descriptor} does, the others nothing) in order. Where more calls than fit in a pass's
     * bytes, it calls methods {@code name$callsK} that each call a share of them, so that a hook of
     * many passes is no larger than its passes.
     */
    private static void calls(Target target, String name, String descriptor, List<String> callees) {
        Type[] args = Type.getArgumentTypes(descriptor);
        String voidCall = Type.getMethodDescriptor(Type.VOID_TYPE, args);
        // A call: each argument's load (1 byte for slots 0 to 3, else at most 2) and invokestatic (3); then the return (1).
        int callBytes = 3, slot = 0;
        for (Type arg : args) {
            callBytes += slot <= 3 ? 1 : 2;
            slot += arg.getSize();
        }
        int fit = Math.max(2, (target.passBytes() - 1) / callBytes);
        if (callees.size() > fit) {
            // At most fit groups, each called here and calling its share (through groups of its own where needed).
            int share = callees.size() <= fit * fit ? fit : (callees.size() + fit - 1) / fit;
            List<String> groups = new ArrayList<>();
            for (int from = 0; from < callees.size(); from += share) {
                groups.add(name + "$calls" + groups.size());
                boolean last = from + share >= callees.size();
                calls(target, groups.getLast(), last ? descriptor : voidCall, callees.subList(from, Math.min(callees.size(), from + share)));
            }
            callees = groups;
        }
        GeneratorAdapter g = KernelGenerator.method(target.cw(), name, descriptor);
        for (int k = 0; k < callees.size(); k++) {
            g.loadArgs();
            g.invokeStatic(Type.getObjectType(target.owner()), new Method(callees.get(k), k == callees.size() - 1 ? descriptor : voidCall));
        }
        KernelGenerator.end(g);
    }

    private static void pass(Target target, Shape shape, String name, String descriptor, PassPlanner.Pass pass, List<Program> programs,
                             Function<TileLoop, ProgramRenderer.Context> context, List<Sink> sinks) {
        GeneratorAdapter g = KernelGenerator.method(target.cw(), name, descriptor);
        TileLoop loop = new TileLoop(g, shape.vectorsArg(), shape.lanesArg());
        boolean beyondSlotZero = false;
        for (PassPlanner.Part part : pass.parts()) {
            for (int r = 0; r < part.spills().length; r++) beyondSlotZero |= part.uses(r) && part.spills()[r] != null && part.spills()[r].slot() > 0;
        }
        SpillAccess spill = new SpillAccess(g, loop, shape.spillArg(), shape.vectorsArg(), target.tiling().kv(), beyondSlotZero);
        List<ProgramRenderer> renderers = new ArrayList<>();
        int[] first = PassPlanner.Sharing.of(programs).first();
        for (int p = 0; p < programs.size(); p++) {
            renderers.add(first[p] != p ? new ProgramRenderer(renderers.get(first[p]), programs.get(p))
                    : new ProgramRenderer(g, programs.get(p), target.slots(), context.apply(loop), true, pass.parts().get(p), spill));
        }
        Pass emitting = new Pass(g, loop, renderers);
        List<Code> codes = pass.sinks().stream().map(k -> sinks.get(k).open().apply(emitting)).toList();
        if (Type.getReturnType(descriptor) != Type.VOID_TYPE && codes.size() != 1) {
            throw new IllegalStateException(name + " returns its one sink's value, but has " + codes.size() + " sinks");
        }
        if (pass.loops()) {
            loop.run(renderers, () -> codes.forEach(c -> c.beforeKeys().run()), () -> codes.forEach(c -> c.element().run()),
                    () -> codes.forEach(c -> c.afterKeys().run()));
        } else {
            for (ProgramRenderer r : renderers) r.emit(EnumSet.of(Program.Level.UNIFORM));
        }
        codes.forEach(c -> c.end().run());
        KernelGenerator.end(g);
    }
}
