package attnc.jvm.emit;

import attnc.lower.Program.Level;
import java.util.EnumSet;
import java.util.List;
import org.objectweb.asm.Label;
import org.objectweb.asm.Type;
import org.objectweb.asm.commons.GeneratorAdapter;
import org.objectweb.asm.commons.Method;

/**
 * The loops of every tile hook, forward and backward: a tile is laid out [key j][query i], the
 * element (j, query vector v) at {@code at = (j·vectors + v)·L}, and each program register is
 * computed where its level puts it:
 * <pre>
 *   UNIFORM registers
 *   for v in 0 until vectors:       q lanes = q0 + v·L + (0 .. L-1); ROW registers; beforeKeys
 *     for j in 0 until keys:        kv = kv0 + j; at; COL and ELEMENT registers; element
 *     afterKeys
 * </pre>
 * A tile hook's arguments start env, b, h, kv0, keys, q0; where its vector count and its lane
 * buffer (the thread's int[] for gathers and lane loops) are is the hook's own.
 */
final class TileLoop {
    private static final int KV0 = 3, KEYS = 4, Q0 = 5;
    private static final String FLOAT_VECTOR = ProgramRenderer.FLOAT_VECTOR.getDescriptor();

    /** Bytes of the loops and the method's return: an upper bound, as {@link ProgramRenderer#bytes} counts. */
    static final int BYTES = 68;

    private final GeneratorAdapter g;
    private final int vectorsArg, lanesArg;
    final int v, j, kv, at, qLanes;

    TileLoop(GeneratorAdapter g, int vectorsArg, int lanesArg) {
        this.g = g;
        this.vectorsArg = vectorsArg;
        this.lanesArg = lanesArg;
        v = g.newLocal(Type.INT_TYPE);
        j = g.newLocal(Type.INT_TYPE);
        kv = g.newLocal(Type.INT_TYPE);
        at = g.newLocal(Type.INT_TYPE);
        qLanes = g.newLocal(ProgramRenderer.INT_VECTOR);
    }

    /** The leaves the loops provide; s is the element of the float[] argument {@code scoresArg} (−1 where the hook has no s). */
    ProgramRenderer.Context context(int scoresArg) {
        return new ProgramRenderer.Context(KernelGenerator.ENV_ARG, KernelGenerator.B_ARG, KernelGenerator.H_ARG, null,
                ProgramRenderer.Leaf.local(qLanes), ProgramRenderer.Leaf.local(kv), null, null,
                scoresArg < 0 ? null : adapter -> pushElement(scoresArg), ProgramRenderer.Leaf.arg(lanesArg));
    }

    void run(List<ProgramRenderer> renderers, Runnable beforeKeys, Runnable element, Runnable afterKeys) {
        for (ProgramRenderer r : renderers) r.emit(EnumSet.of(Level.UNIFORM));
        Label outer = new Label(), outerEnd = new Label(), inner = new Label(), innerEnd = new Label();
        g.push(0);
        g.storeLocal(v);
        g.mark(outer);
        g.loadLocal(v);
        g.loadArg(vectorsArg);
        g.ifICmp(GeneratorAdapter.GE, outerEnd);
        g.loadArg(Q0);
        g.loadLocal(v);
        pushLanes();
        g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
        g.math(GeneratorAdapter.ADD, Type.INT_TYPE);
        g.invokeStatic(ProgramRenderer.LANES, new Method("lanes", "(I)" + ProgramRenderer.INT_VECTOR.getDescriptor()));
        g.storeLocal(qLanes);
        for (ProgramRenderer r : renderers) r.emit(EnumSet.of(Level.ROW));
        beforeKeys.run();
        g.push(0);
        g.storeLocal(j);
        g.mark(inner);
        g.loadLocal(j);
        g.loadArg(KEYS);
        g.ifICmp(GeneratorAdapter.GE, innerEnd);
        g.loadArg(KV0);
        g.loadLocal(j);
        g.math(GeneratorAdapter.ADD, Type.INT_TYPE);
        g.storeLocal(kv);
        g.loadLocal(j);
        g.loadArg(vectorsArg);
        g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
        g.loadLocal(v);
        g.math(GeneratorAdapter.ADD, Type.INT_TYPE);
        pushLanes();
        g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
        g.storeLocal(at);
        for (ProgramRenderer r : renderers) r.emit(EnumSet.of(Level.COL, Level.ELEMENT));
        element.run();
        g.iinc(j, 1);
        g.goTo(inner);
        g.mark(innerEnd);
        afterKeys.run();
        g.iinc(v, 1);
        g.goTo(outer);
        g.mark(outerEnd);
    }

    /** Pushes the vector at {@code at} of the float[] argument {@code array}: a tile's scores, or dS. */
    void pushElement(int array) {
        g.loadArg(array);
        g.loadLocal(at);
        g.invokeStatic(ProgramRenderer.LANES, new Method("scores", "([FI)" + FLOAT_VECTOR));
    }

    private void pushLanes() {
        g.getStatic(ProgramRenderer.LANES, "L", Type.INT_TYPE);
    }
}
