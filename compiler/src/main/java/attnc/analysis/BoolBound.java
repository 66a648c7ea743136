package attnc.analysis;

/**
 * A three-valued boolean over a box: whether some element may make it true, whether some may make
 * it false (neither false: the value is certain), and the linear constraints on (q, kv) that
 * hold wherever it is true and wherever it is false (see {@link Constraints}).
 */
record BoolBound(boolean canTrue, boolean canFalse, Constraints whenTrue, Constraints whenFalse) {

    static final BoolBound UNKNOWN = new BoolBound(true, true, Constraints.NONE, Constraints.NONE);

    static BoolBound of(boolean canTrue, boolean canFalse) {
        return new BoolBound(canTrue, canFalse, Constraints.NONE, Constraints.NONE);
    }

    static BoolBound constant(boolean v) {
        return of(v, !v);
    }

    BoolBound not() {
        return new BoolBound(canFalse, canTrue, whenFalse, whenTrue);
    }

    /** True where both are: the joint constraints must still meet the box. */
    BoolBound and(BoolBound other, Box box) {
        Constraints jointTrue = whenTrue.and(other.whenTrue);
        boolean canBeTrue = canTrue && other.canTrue && jointTrue.feasible(box);
        Constraints jointFalse = !canFalse ? other.whenFalse : !other.canFalse ? whenFalse : whenFalse.or(other.whenFalse);
        return new BoolBound(canBeTrue, canFalse || other.canFalse, jointTrue, jointFalse);
    }

    BoolBound or(BoolBound other, Box box) {
        return not().and(other.not(), box).not();
    }

    /** {@code condition ? ifTrue : ifFalse} on booleans, as (c && t) || (!c && f). */
    static BoolBound select(BoolBound condition, BoolBound ifTrue, BoolBound ifFalse, Box box) {
        if (!condition.canFalse) return ifTrue;
        if (!condition.canTrue) return ifFalse;
        return condition.and(ifTrue, box).or(condition.not().and(ifFalse, box), box);
    }

    /** Equality of two booleans, as (a && b) || (!a && !b). */
    static BoolBound equal(BoolBound a, BoolBound b, Box box) {
        return a.and(b, box).or(a.not().and(b.not(), box), box);
    }
}
