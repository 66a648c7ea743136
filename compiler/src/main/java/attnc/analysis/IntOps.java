package attnc.analysis;

import attnc.ir.BinaryOp;
import attnc.ir.Semantics;

/**
 * Transfer functions of the int operations over {@link IntBound}s, sound for
 * {@link Semantics}: 32-bit wrapping (a possible wrap gives TOP), floored division and modulo with
 * 0 for a zero divisor, shift counts taken mod 32.
 */
final class IntOps {
    private IntOps() {}

    static IntBound binary(BinaryOp op, IntBound a, IntBound b, Box box) {
        return switch (op) {
            case ADD -> IntBound.of(a.lo() + b.lo(), a.hi() + b.hi(), a.cq() + b.cq(), a.ckv() + b.ckv(),
                    a.rlo() + b.rlo(), a.rhi() + b.rhi(), box);
            case SUB -> IntBound.of(a.lo() - b.hi(), a.hi() - b.lo(), a.cq() - b.cq(), a.ckv() - b.ckv(),
                    a.rlo() - b.rhi(), a.rhi() - b.rlo(), box);
            case MUL -> multiply(a, b, box);
            case DIV -> divide(a, b);
            case MOD -> modulo(a, b, box);
            case SHL -> shiftLeft(a, shiftCount(b));
            case SHR -> shiftRight(a, shiftCount(b));
            case BIT_AND -> KnownBits.refine(op, a, b, bitAnd(a, b));
            case BIT_OR -> KnownBits.refine(op, a, b, bitOr(a, b));
            case BIT_XOR -> KnownBits.refine(op, a, b, bitXor(a, b));
            default -> throw new IllegalArgumentException(op + " does not give an int");
        };
    }

    static IntBound negate(IntBound a, Box box) {
        return IntBound.of(-a.hi(), -a.lo(), -a.cq(), -a.ckv(), -a.rhi(), -a.rlo(), box);
    }

    /** ~x = -x - 1, which never wraps. */
    static IntBound bitNot(IntBound a, Box box) {
        return IntBound.of(-a.hi() - 1, -a.lo() - 1, -a.cq(), -a.ckv(), -a.rhi() - 1, -a.rlo() - 1, box);
    }

    static IntBound min(IntBound a, IntBound b, Box box) {
        if (difference(a, b, box)[1] <= 0) return a;
        if (difference(b, a, box)[1] <= 0) return b;
        return IntBound.range(Math.min(a.lo(), b.lo()), Math.min(a.hi(), b.hi()));
    }

    static IntBound max(IntBound a, IntBound b, Box box) {
        if (difference(a, b, box)[0] >= 0) return a;
        if (difference(b, a, box)[0] >= 0) return b;
        return IntBound.range(Math.max(a.lo(), b.lo()), Math.max(a.hi(), b.hi()));
    }

    /** Math.abs wraps at MIN_VALUE: abs(MIN_VALUE) is MIN_VALUE. */
    static IntBound abs(IntBound a, Box box) {
        if (a.lo() == IntBound.MIN) return a.hi() == IntBound.MIN ? a : IntBound.TOP;
        if (a.lo() >= 0) return a;
        if (a.hi() <= 0) return negate(a, box);
        return IntBound.range(0, Math.max(-a.lo(), a.hi()));
    }

    static IntBound bitlen(IntBound a) {
        if (a.hi() < 0) return IntBound.constant(32);
        long high = a.lo() < 0 ? 32 : Semantics.bitlen((int) a.hi());
        return IntBound.range(Semantics.bitlen((int) Math.max(a.lo(), 0)), high);
    }

    /** The value of a − b over the box, from ranges and forms: {min, max}. */
    static long[] difference(IntBound a, IntBound b, Box box) {
        long cq = a.cq() - b.cq(), ckv = a.ckv() - b.ckv();
        long low = Math.max(a.lo() - b.hi(), box.formMin(cq, ckv) + a.rlo() - b.rhi());
        long high = Math.min(a.hi() - b.lo(), box.formMax(cq, ckv) + a.rhi() - b.rlo());
        return new long[] {low, high};
    }

    /** Multiplying by a known constant keeps the linear form; otherwise the four corners bound the product. */
    private static IntBound multiply(IntBound a, IntBound b, Box box) {
        if (b.isConstant()) return scale(a, b.lo(), box);
        if (a.isConstant()) return scale(b, a.lo(), box);
        long p1 = a.lo() * b.lo(), p2 = a.lo() * b.hi(), p3 = a.hi() * b.lo(), p4 = a.hi() * b.hi();
        return IntBound.range(Math.min(Math.min(p1, p2), Math.min(p3, p4)), Math.max(Math.max(p1, p2), Math.max(p3, p4)));
    }

    private static IntBound scale(IntBound a, long c, Box box) {
        long x = a.lo() * c, y = a.hi() * c, r1 = a.rlo() * c, r2 = a.rhi() * c;
        return IntBound.of(Math.min(x, y), Math.max(x, y), a.cq() * c, a.ckv() * c, Math.min(r1, r2), Math.max(r1, r2), box);
    }

    /** Floored division; the divisor's range is split at zero (a zero divisor gives 0). */
    private static IntBound divide(IntBound a, IntBound b) {
        long low = Long.MAX_VALUE, high = Long.MIN_VALUE;
        if (b.lo() <= 0 && b.hi() >= 0) {
            low = 0;
            high = 0;
        }
        for (long[] part : signedParts(b)) {
            for (long x : new long[] {a.lo(), a.hi()}) {
                for (long d : part) {
                    long q = Math.floorDiv(x, d);
                    low = Math.min(low, q);
                    high = Math.max(high, q);
                }
            }
        }
        return IntBound.range(low, high);
    }

    /**
     * The parts of a divisor's range without zero: [lo, -1] and [1, hi] when present. For a fixed
     * sign of the divisor, floored division is monotone in each operand, so corners suffice.
     */
    private static long[][] signedParts(IntBound b) {
        long[] negative = b.lo() < 0 ? new long[] {b.lo(), Math.min(b.hi(), -1)} : null;
        long[] positive = b.hi() > 0 ? new long[] {Math.max(b.lo(), 1), b.hi()} : null;
        if (negative != null && positive != null) return new long[][] {negative, positive};
        if (negative != null) return new long[][] {negative};
        if (positive != null) return new long[][] {positive};
        return new long[0][];
    }

    /**
     * Floored modulo: in [0, d-1] for d > 0, [d+1, 0] for d < 0, 0 for d = 0. Inside one period of
     * a constant d it is a − d·k for the period's k, linear: {@code q - q % 64} then stays exactly
     * 64·k over a tile cut at the period (see {@link PeriodSplit}).
     */
    private static IntBound modulo(IntBound a, IntBound b, Box box) {
        if (b.isConstant() && b.lo() != 0) {
            long d = b.lo(), k = Math.floorDiv(a.lo(), d);
            if (k == Math.floorDiv(a.hi(), d)) {
                return IntBound.of(a.lo() - d * k, a.hi() - d * k, a.cq(), a.ckv(), a.rlo() - d * k, a.rhi() - d * k, box);
            }
        }
        long low = 0, high = 0;
        if (b.hi() > 0) {
            high = b.hi() - 1;
            if (a.lo() >= 0) high = Math.min(high, a.hi());
        }
        if (b.lo() < 0) {
            low = b.lo() + 1;
            if (a.hi() <= 0) low = Math.max(low, a.lo());
        }
        return IntBound.range(low, high);
    }

    /** The shift count's low five bits, as a range in 0..31. */
    private static long[] shiftCount(IntBound b) {
        if (Math.floorDiv(b.lo(), 32) == Math.floorDiv(b.hi(), 32)) return new long[] {b.lo() & 31, b.hi() & 31};
        return new long[] {0, 31};
    }

    /** x << s = x·2^s exactly unless it leaves the int range; monotone in x and, for a fixed sign of x, in s. */
    private static IntBound shiftLeft(IntBound a, long[] s) {
        long low = Long.MAX_VALUE, high = Long.MIN_VALUE;
        for (long x : new long[] {a.lo(), a.hi()}) {
            for (long count : s) {
                long v = x * (1L << count);
                low = Math.min(low, v);
                high = Math.max(high, v);
            }
        }
        return IntBound.range(low, high);
    }

    private static IntBound shiftRight(IntBound a, long[] s) {
        long low = Long.MAX_VALUE, high = Long.MIN_VALUE;
        for (long x : new long[] {a.lo(), a.hi()}) {
            for (long count : s) {
                long v = x >> count;
                low = Math.min(low, v);
                high = Math.max(high, v);
            }
        }
        return IntBound.range(low, high);
    }

    /** Smallest k with both ranges inside [-2^k, 2^k - 1]: every bit operation stays in that range. */
    private static long commonWidth(IntBound a, IntBound b) {
        long m = Math.max(Math.max(a.hi(), -a.lo() - 1), Math.max(b.hi(), -b.lo() - 1));
        return 1L << (64 - Long.numberOfLeadingZeros(Math.max(m, 0)));
    }

    private static IntBound bitAnd(IntBound a, IntBound b) {
        long w = commonWidth(a, b);
        long low = -w, high = w - 1;
        if (a.nonNegative()) { low = 0; high = Math.min(high, a.hi()); }
        if (b.nonNegative()) { low = 0; high = Math.min(high, b.hi()); }
        if (a.hi() < 0 && b.hi() < 0) high = Math.min(high, Math.min(a.hi(), b.hi()));
        return IntBound.range(low, high);
    }

    private static IntBound bitOr(IntBound a, IntBound b) {
        long w = commonWidth(a, b);
        long low = -w, high = w - 1;
        if (a.nonNegative() && b.nonNegative()) low = Math.max(a.lo(), b.lo());
        if (a.hi() < 0) { low = Math.max(low, a.lo()); high = -1; }
        if (b.hi() < 0) { low = Math.max(low, b.lo()); high = -1; }
        return IntBound.range(low, high);
    }

    private static IntBound bitXor(IntBound a, IntBound b) {
        long w = commonWidth(a, b);
        if (a.nonNegative() && b.nonNegative()) return IntBound.range(0, w - 1);
        if (a.hi() < 0 && b.hi() < 0) return IntBound.range(0, w - 1);
        if (a.nonNegative() && b.hi() < 0 || a.hi() < 0 && b.nonNegative()) return IntBound.range(-w, -1);
        return IntBound.range(-w, w - 1);
    }
}
