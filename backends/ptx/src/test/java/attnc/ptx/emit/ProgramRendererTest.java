package attnc.ptx.emit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.lower.LowerPattern;
import attnc.lower.Program.Level;
import org.junit.jupiter.api.Test;

/** What the PTX printer makes of single operations, and where it places them. */
class ProgramRendererTest {

    private static String render(String mask, Level level) throws Exception {
        Pattern pattern = Frontend.compile("t", "param n: int = 5\nmask: " + mask);
        PtxWriter out = new PtxWriter();
        Leaves leaves = new Leaves() {
            public String index(Index i, int row, int col) { return "%" + i.spelling() + "_r" + row + "_c" + col; }
            public String size(String name) { return "%" + name; }
            public String param(String name) { return "%param_" + name; }
            public String input(String name) { return "%in_" + name; }
        };
        ProgramRenderer renderer = new ProgramRenderer(out, LowerPattern.lower(pattern).visibility(), "m", leaves);
        renderer.emit(level, 1, 2);
        return out.render();
    }

    @Test
    void powerOfTwoDivisionAndModuloArriveAsShiftsAndMasks() throws Exception {
        String row = render("kv / 64 == q % 16", Level.ROW);
        assertTrue(row.contains("and.b32") && !row.contains("rem.s32"), row);
        String col = render("kv / 64 == 0", Level.COL);
        assertTrue(col.contains("shr.s32"), col);
        assertFalse(col.contains("div.s32"), col);
    }

    @Test
    void otherDivisionsAreFlooredAndGuardZero() throws Exception {
        String text = render("kv / n == 0", Level.COL);
        assertTrue(text.contains("div.s32") && text.contains("rem.s32") && text.contains("selp.s32"), text);
    }

    @Test
    void levelsSplitRowColumnAndElementWork() throws Exception {
        // q - kv needs both; q + 1 only the row; the column-only and row-only parts print at their own level.
        String row = render("q + 1 > kv", Level.ROW);
        assertTrue(row.contains("add.s32 %m") && row.contains("_r1,"), row);
        assertFalse(row.contains("setp"), row);
        String element = render("q + 1 > kv", Level.ELEMENT);
        assertTrue(element.contains("setp.gt.s32 %m") && element.contains("_r1_c2"), element);
    }

    @Test
    void floatInequalityIsTrueForNaN() throws Exception {
        String text = render("q * 0.5 != kv * 0.25", Level.ELEMENT);
        assertTrue(text.contains("setp.neu.f32"), text);
    }

    @Test
    void constantsAreExactHexFloats() {
        assertTrue(PtxWriter.f32Literal(1.0).equals("0f3F800000"));
        assertTrue(PtxWriter.ascii("S = Q\u00b7K\u1d40 \u2192 \u2212\u221e").equals("S = Q*K^T -> -inf"));
    }
}
