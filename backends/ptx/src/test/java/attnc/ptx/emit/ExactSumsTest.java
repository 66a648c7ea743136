package attnc.ptx.emit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The deterministic backward's fixed-point addends, from the emitted PTX run by {@link IntegerPtx}:
 * each fp32 value becomes exactly value × 2⁶⁴ truncated toward zero as a signed 128-bit integer,
 * whose sums then do not depend on their order; values that are not finite or reach 2⁴⁰ are
 * flagged instead.
 */
class ExactSumsTest {
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    @Test
    void addendsAreTheValueTimesTwoToTheSixtyFourTruncated() {
        PtxWriter out = new PtxWriter();
        ExactSums.split(out, "%x");
        String text = out.render();
        List<Float> values = new ArrayList<>(List.of(0f, -0f, 1f, -1f, 0.5f, -0.75f, 3e-20f, -3e-20f, 5.4e-20f, 1e-30f, Float.MIN_VALUE, -Float.MIN_NORMAL,
                0x1.fffffep39f, -0x1.fffffep39f, 0x1p40f, -0x1p40f, 1e38f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0x1p-64f, 0x1.8p-64f,
                0x1p-63f, -0x1p-65f, 0x1p23f, 0x1p24f + 2, 0x1p40f - 65536f, 123456.789f));
        Random random = new Random(3);
        for (int i = 0; i < 2000; i++) {
            values.add(Float.intBitsToFloat(random.nextInt()));
            values.add((float) (random.nextGaussian() * Math.pow(2, random.nextInt(120) - 80)));
        }
        for (float value : values) {
            Map<String, Long> registers = IntegerPtx.registers("%x", Float.floatToRawIntBits(value));
            IntegerPtx.run(text, registers, instruction -> {});
            boolean flagged = registers.get("%exact_flagged") != 0;
            boolean representable = Float.isFinite(value) && Math.abs(value) < 0x1p40f;
            assertEquals(!representable, flagged, "flagged " + value);
            if (!representable) continue;
            BigInteger got = BigInteger.valueOf(registers.get("%exact_hi")).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(registers.get("%exact_lo"))));
            BigInteger want = new BigDecimal(value).multiply(new BigDecimal(TWO_64)).toBigInteger();
            assertEquals(want, got, "addend of " + value + " (" + Float.toHexString(value) + ")");
        }
    }
}
