package attnc.ptx.emit;

import java.util.List;

/**
 * Sums that come out bitwise the same whatever order the adds land in, for the deterministic
 * backward's input gradients and row sums: each fp32 addend becomes an exact 128-bit fixed-point
 * integer (units of 2⁻⁶⁴: the high word is the integer part, the low word the fraction) added with
 * 64-bit integer atomics, whose sums do not depend on order; {@link #finish} rounds each sum to
 * fp32 once. An element is three u64 words: low, high and a flag set by any addend that is not
 * finite or reaches 2⁴⁰, whose sum is then NaN. Addends lose what lies below 2⁻⁶⁴ (5e-20), toward
 * zero.
 */
final class ExactSums {
    /** Bytes of one element: low word, high word, flag. */
    static final int BYTES = 24;
    static final String FINISH_ENTRY = "attnc_exact_finish";
    static final int FINISH_THREADS = 256;
    /** The finishing kernel's parameters: the exact sums, the fp32 ones it writes, their count. */
    static final Signature FINISH_SIGNATURE = new Signature(List.of("exact", "sums"), List.of(), List.of(),
            List.of("count"), List.of(), List.of());
    /** The biased fp32 exponent of 2⁴⁰, the smallest magnitude flagged. */
    private static final int FLAGGED_EXPONENT = 127 + 40;
    /** The low word's shift of the 24-bit significand is the biased exponent minus this (150 − 64). */
    private static final int LOW_SHIFT_BIAS = 150 - 64;

    private ExactSums() {}

    /**
     * Adds {@code value} (.f32) into element {@code offset} (.s32) of the sums at {@code base}, by
     * the threads of {@code guard} (all if null): exactly, or with a plain fp32 red.global.add.
     */
    static void addAt(PtxWriter out, boolean exact, String guard, String base, String offset, String value) {
        String address = out.u64("%sum_addr");
        out.op("mul.wide.s32", address, offset, exact ? BYTES : 4);
        out.op("add.s64", address, base, address);
        if (exact) add(out, guard, address, value);
        else out.op((guard == null ? "" : "@" + guard + " ") + "red.global.add.f32", "[" + address + "]", value);
    }

    /**
     * Adds {@code value} (an .f32 register) into the element at {@code address} (a .u64 register),
     * by the threads of {@code guard} (all if null).
     */
    static void add(PtxWriter out, String guard, String address, String value) {
        split(out, value);
        String at = guard == null ? "" : "@" + guard + " ";
        String old = out.u64("%exact_old"), sum = out.u64("%exact_sum"), carried = out.pred("%exact_carried"), carry = out.u64("%exact_carry");
        out.op(at + "atom.global.add.u64", old, "[" + address + "]", "%exact_lo");
        // The low words' carry belongs in the high word: the unsigned sum wrapped exactly when it is below the addend.
        out.op("add.u64", sum, old, "%exact_lo");
        out.op("setp.lt.u64", carried, sum, "%exact_lo");
        out.op("selp.u64", carry, 1, 0, carried);
        out.op("add.s64", "%exact_hi", "%exact_hi", carry);
        out.op(at + "red.global.add.u64", "[" + address + "+8]", "%exact_hi");
        String flag = "%exact_flagged";
        if (guard != null) out.op("and.pred", flag = out.pred("%exact_flag"), guard, "%exact_flagged");
        out.op("@" + flag + " red.global.or.b64", "[" + address + "+16]", 1);
    }

    /**
     * {@code value} as the signed 128-bit integer {@code %exact_hi:%exact_lo} in units of 2⁻⁶⁴,
     * truncated toward zero, without a branch; {@code %exact_flagged} when it is not finite or
     * reaches 2⁴⁰. Shift amounts past 63 give 0 (PTX clamps them), so the two shifts of each word
     * cover both directions: one of them is by a negative amount, read as a huge unsigned one.
     */
    static void split(PtxWriter out, String value) {
        String bits = out.b32("%exact_bits"), exponent = out.u32("%exact_exp"), significand = out.u32("%exact_sig"), wide = out.u64("%exact_wide");
        String up = out.u32("%exact_up"), down = out.u32("%exact_down"), left = out.u64("%exact_left"), right = out.u64("%exact_right");
        String lo = out.u64("%exact_lo"), hi = out.u64("%exact_hi");
        out.op("mov.b32", bits, value);
        out.op("shr.u32", exponent, bits, 23);
        out.op("and.b32", exponent, exponent, 255);
        out.op("setp.ge.u32", out.pred("%exact_flagged"), exponent, FLAGGED_EXPONENT);
        out.op("and.b32", significand, bits, 0x7fffff);
        out.op("or.b32", significand, significand, 0x800000);
        out.op("cvt.u64.u32", wide, significand);
        out.op("sub.s32", up, exponent, LOW_SHIFT_BIAS);
        out.op("sub.s32", down, LOW_SHIFT_BIAS, exponent);
        out.op("shl.b64", left, wide, up);
        out.op("shr.u64", right, wide, down);
        out.op("or.b64", lo, left, right);
        out.op("sub.s32", up, exponent, LOW_SHIFT_BIAS + 64);
        out.op("sub.s32", down, LOW_SHIFT_BIAS + 64, exponent);
        out.op("shl.b64", left, wide, up);
        out.op("shr.u64", right, wide, down);
        out.op("or.b64", hi, left, right);
        // A negative value: flip every bit and add 1, the low word's carry going into the high one.
        String sign = out.s32("%exact_sign32"), mask = out.u64("%exact_mask"), flipped = out.u64("%exact_flipped");
        String carried = out.pred("%exact_neg_carried"), carry = out.u64("%exact_neg_carry");
        out.op("shr.s32", sign, bits, 31);
        out.op("cvt.s64.s32", mask, sign);
        out.op("xor.b64", flipped, lo, mask);
        out.op("sub.s64", lo, flipped, mask);
        out.op("setp.lt.u64", carried, lo, flipped);
        out.op("selp.u64", carry, 1, 0, carried);
        out.op("xor.b64", hi, hi, mask);
        out.op("add.s64", hi, hi, carry);
    }

    /**
     * The kernel that rounds sums to fp32, one thread an element: {@code sums[i]} from the 128-bit
     * {@code exact[i]} (NaN where flagged), for i below {@code count}.
     */
    static String finish() {
        PtxWriter out = new PtxWriter();
        FINISH_SIGNATURE.loadParams(out);
        String exit = out.newLabel("exit"), index = out.s32("%i"), address = out.u64("%address"), offset = out.u64("%offset");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mov.u32", out.s32("%thread"), "%tid.x");
        out.op("mad.lo.s32", index, "%block", FINISH_THREADS, "%thread");
        out.op("setp.ge.s32", out.pred("%outside"), index, "%count");
        out.op("@%outside bra.uni", exit);
        out.op("mul.wide.s32", offset, index, BYTES);
        out.op("add.s64", address, "%exact", offset);
        String lo = out.u64("%lo"), hi = out.u64("%hi"), flag = out.u64("%flag");
        // 24-byte elements: only 8-byte loads are aligned.
        out.op("ld.global.u64", lo, "[" + address + "]");
        out.op("ld.global.u64", hi, "[" + address + "+8]");
        out.op("ld.global.u64", flag, "[" + address + "+16]");
        out.comment("hi + lo * 2^-64 in double (hi is exact below 2^53), then one more rounding to fp32");
        String whole = out.reg(".f64", "%whole"), fraction = out.reg(".f64", "%fraction"), sum = out.f32("%sum");
        out.op("cvt.rn.f64.s64", whole, hi);
        out.op("cvt.rn.f64.u64", fraction, lo);
        out.op("fma.rn.f64", whole, fraction, "0d3BF0000000000000", whole);
        out.op("cvt.rn.f32.f64", sum, whole);
        out.op("setp.ne.u64", out.pred("%flagged"), flag, 0);
        out.op("selp.f32", sum, "0f7FC00000", sum, "%flagged");
        out.op("mul.wide.s32", offset, index, 4);
        out.op("add.s64", address, "%sums", offset);
        out.op("st.global.f32", "[" + address + "]", sum);
        out.label(exit);
        out.op("ret");
        return FINISH_SIGNATURE.header(FINISH_ENTRY) + "\n.maxntid " + FINISH_THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }
}
