package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Linear constraint sets against the integer points they describe. A one-point box is feasible
 * exactly where the point satisfies every constraint, which checks the normal form (directions
 * divided by their gcd, bounds rounded inward, signs flipped) point by point; {@code or} keeps
 * every point of either set, exactly the hull for one shared direction; {@code feasible} is sound,
 * and exact over a box for one direction whose values there have no gaps.
 */
class ConstraintsTest {
    private static final long U = Constraints.UNBOUNDED;

    record Row(long a, long c, long lo, long hi) {
        Constraints constraints() { return Constraints.of(a, c, lo, hi); }

        boolean holds(long q, long kv) {
            if (a == 0 && c == 0) return true;
            long v = a * q + c * kv;
            return lo <= v && v <= hi;
        }
    }

    @Property(tries = 400)
    void onePointBoxesAreFeasibleExactlyWhereThePointSatisfiesTheSet(@ForAll long seed) {
        Random random = new Random(seed);
        Row x = row(random), y = row(random), sameDirection = new Row(x.a(), x.c(), bound(random), bound(random));
        Constraints both = x.constraints().and(y.constraints()), either = x.constraints().or(y.constraints());
        Constraints hull = x.constraints().or(sameDirection.constraints());
        for (long q = -6; q <= 6; q++) {
            for (long kv = -6; kv <= 6; kv++) {
                Box point = new Box(0, 0, 0, 0, q, q, kv, kv);
                String at = " at q=" + q + ", kv=" + kv + " for " + x + ", " + y;
                assertEquals(x.holds(q, kv), x.constraints().feasible(point), "of" + at);
                assertEquals(x.holds(q, kv) && y.holds(q, kv), both.feasible(point), "and" + at);
                if (x.holds(q, kv) || y.holds(q, kv)) assertTrue(either.feasible(point), "or" + at);
                boolean inHull = x.a() == 0 && x.c() == 0 || Math.min(x.lo(), sameDirection.lo()) <= x.a() * q + x.c() * kv
                        && x.a() * q + x.c() * kv <= Math.max(x.hi(), sameDirection.hi());
                if (!(x.lo() > x.hi() || sameDirection.lo() > sameDirection.hi())) assertEquals(inHull, hull.feasible(point), "hull" + at + ", " + sameDirection);
            }
        }
    }

    @Property(tries = 400)
    void feasibilityOverABoxIsExactForOneDirectionAndSoundForSeveral(@ForAll long seed) {
        Random random = new Random(seed);
        long q0 = random.nextInt(13) - 6, kv0 = random.nextInt(13) - 6;
        Box box = new Box(0, 0, 0, 0, q0, q0 + random.nextInt(6), kv0, kv0 + random.nextInt(6));
        Row x = row(random), y = new Row(x.a(), x.c(), bound(random), bound(random)), z = row(random);
        Constraints oneDirection = x.constraints().and(y.constraints()), several = oneDirection.and(z.constraints());
        boolean someOne = false, someAll = false;
        for (long q = box.qLo(); q <= box.qHi(); q++) {
            for (long kv = box.kvLo(); kv <= box.kvHi(); kv++) {
                someOne |= x.holds(q, kv) && y.holds(q, kv);
                someAll |= x.holds(q, kv) && y.holds(q, kv) && z.holds(q, kv);
            }
        }
        if (someOne || noGaps(x.a(), x.c(), box)) assertEquals(someOne, oneDirection.feasible(box), () -> x + " and " + y + " over " + box);
        if (someAll) assertTrue(several.feasible(box), () -> x + ", " + y + ", " + z + " over " + box);
    }

    /**
     * Whether a·q + c·kv takes every integer between its extremes over the box: for one direction
     * feasibility compares ranges, so it is exact only then (−3q + 2kv over q −3..−2, kv −5..−1
     * reaches −4..7 but not −3). A unit coefficient whose variable spans at least the other
     * coefficient (q − kv over any tile) leaves no gaps.
     */
    private static boolean noGaps(long a, long c, Box box) {
        long g = gcd(Math.abs(a), Math.abs(c));
        if (g == 0) return true;
        long ra = Math.abs(a / g), rc = Math.abs(c / g);
        return ra == 1 && box.qHi() - box.qLo() + 1 >= rc || rc == 1 && box.kvHi() - box.kvLo() + 1 >= ra;
    }

    private static long gcd(long x, long y) {
        return y == 0 ? x : gcd(y, x % y);
    }

    private static Row row(Random random) {
        return new Row(random.nextInt(7) - 3, random.nextInt(7) - 3, bound(random), bound(random));
    }

    /** Mostly small; now and then open or beyond the open ends (which clamp). */
    private static long bound(Random random) {
        return switch (random.nextInt(8)) {
            case 0 -> random.nextBoolean() ? U : -U;
            case 1 -> random.nextBoolean() ? Long.MAX_VALUE / 2 : Long.MIN_VALUE / 2;
            default -> random.nextInt(31) - 15;
        };
    }
}
