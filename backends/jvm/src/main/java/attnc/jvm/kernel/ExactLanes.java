package attnc.jvm.kernel;

import jdk.incubator.vector.FloatVector;

/**
 * The {@link Lanes} operations whose Vector API versions round differently once C2 has compiled
 * them (it calls SVML; the interpreter and C1 go through Math), in {@link VectorMath}'s
 * tier-independent arithmetic. The backward's generated class calls these instead of Lanes'
 * ({@link attnc.jvm.emit.BackwardGenerator}), so that its deterministic mode gives the same bits
 * early and late in a process; the forward keeps the library's EXP and LOG (its TANH and SIGMOID
 * are VectorMath's already: inline, and faster than the library's calls).
 */
public final class ExactLanes {
    private ExactLanes() {}

    public static FloatVector EXP(FloatVector a) { return VectorMath.exp(a); }
    public static FloatVector LOG(FloatVector a) { return VectorMath.log(a); }
    public static FloatVector LOG2(FloatVector a) { return VectorMath.log(a).mul((float) (1 / Math.log(2.0))); }
    public static FloatVector TANH(FloatVector a) { return VectorMath.tanh(a); }
    public static FloatVector SIGMOID(FloatVector a) { return VectorMath.sigmoid(a); }
}
