package attnc.jvm.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * What the backward's generated hooks call besides {@link Lanes}: the product of an upstream
 * gradient and a partial derivative, and where it goes. Each method is a few bytecodes, so C2
 * inlines it into the hook and no vector is boxed.
 */
public final class GradLanes {
    private GradLanes() {}

    /**
     * upstream · partial, and 0 wherever upstream is 0: a masked or padded pair carries no
     * gradient, and its partial (evaluated at a score the reference never computes) must not turn
     * that 0 into a NaN.
     */
    public static FloatVector mulOrZero(FloatVector upstream, FloatVector partial) {
        FloatVector known = Lanes.FLOATS.cast(upstream);
        return known.mul(partial).blend(0f, known.eq(0f));
    }

    /** dS[at ..] becomes ds = dS · (d score/d s). */
    public static void scaleGradient(float[] dS, int at, FloatVector scoreByS) {
        mulOrZero(FloatVector.fromArray(Lanes.F, dS, at), scoreByS).intoArray(dS, at);
    }

    /** A row site's sums over one query vector's keys, added to the tile's row accumulator. */
    public static void addRow(GradScratch g, int site, int vector, FloatVector sums) {
        int at = site * g.tileQ + vector * Lanes.L;
        FloatVector.fromArray(Lanes.F, g.rowSites, at).add(sums).intoArray(g.rowSites, at);
    }

    /** A column site's contributions of one key over a query vector, summed across lanes. */
    public static void addColumn(GradScratch g, int site, int key, FloatVector contributions) {
        g.colSites[site * g.tileKv + key] += g.laneSum(contributions);
    }

    /** A head site's sum over the tile. */
    public static void addHead(GradScratch g, int site, FloatVector sums) {
        g.headSites[site] += g.laneSum(sums);
    }

    /** An element site's contributions, one per lane, at the offsets its load reads. */
    public static void addElements(GradScratch g, int site, IntVector offsets, FloatVector contributions) {
        g.element(site, offsets, contributions);
    }
}
