package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.lower.LowerBackward;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.BackwardConfig;
import attnc.ptx.emit.BackwardModule;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Head dims that are multiples of 8 but not 16 run padded: what is padded, what the pattern sees, and that the modules assemble. */
class HeadPaddingTest {

    private static Pattern pattern(String text) throws Exception {
        return Passes.optimize(attnc.front.Frontend.compile("t", text), Map.of());
    }

    @Test
    void onlyMultiplesOfEightThatAreNotOfSixteenArePadded() {
        assertEquals(48, HeadPadding.padded(40));
        assertEquals(80, HeadPadding.padded(72));
        assertEquals(64, HeadPadding.padded(64));
        assertEquals(36, HeadPadding.padded(36), "not a multiple of 8: left for the kernels to refuse");
        assertEquals(256, HeadPadding.padded(248));
    }

    @Test
    void zeroColumnsInAndOut() {
        Tensor t = Tensor.random(DType.BFLOAT16, new int[] {2, 3, 5, 40}, new Random(1));
        Tensor wide = HeadPadding.pad(t);
        assertArrayEquals(new int[] {2, 3, 5, 48}, wide.shape());
        assertEquals(DType.BFLOAT16, wide.dtype());
        float[] from = t.floats(), to = wide.floats();
        for (int row = 0; row < 30; row++) {
            for (int c = 0; c < 48; c++) assertEquals(c < 40 ? from[row * 40 + c] : 0f, to[row * 48 + c], "row " + row + " column " + c);
        }
        assertArrayEquals(from, HeadPadding.trim(to, 40));
        Tensor even = Tensor.random(DType.FLOAT32, new int[] {1, 1, 2, 64}, new Random(2));
        assertTrue(HeadPadding.pad(even) == even, "nothing to pad: the same tensor");
    }

    /** The kernels' binding has the padded dims; the pattern's programs keep the caller's (the default scale is 1/sqrt(40), not 1/sqrt(48)). */
    @Test
    void thePatternSeesTheCallersHeadDims() throws Exception {
        Pattern p = pattern("input gate: float32[H, Dv]\nmask: q >= kv\noutput: o * gate[h, d]");
        Random random = new Random(3);
        Problem problem = new Problem(Tensor.random(DType.BFLOAT16, new int[] {1, 2, 9, 40}, random), Tensor.random(DType.BFLOAT16, new int[] {1, 2, 9, 40}, random),
                Tensor.random(DType.BFLOAT16, new int[] {1, 2, 9, 72}, random), Map.of("gate", Tensor.random(DType.FLOAT32, new int[] {2, 72}, random)));
        Binding logical = Binding.of(p, problem);
        HeadPadding dims = HeadPadding.of(logical);
        assertTrue(dims.pads());
        Binding run = dims.binding(logical);
        assertEquals(48, run.size("D"));
        assertEquals(80, run.size("Dv"));
        assertEquals(logical.size("Nq"), run.size("Nq"));
        LoweredPattern seen = dims.lowered(LowerPattern.lower(p));
        assertFalse(seen.scale().toString().contains("size D"), seen.scale().toString());
        // The bound sizes fold (FoldProgram): sqrt(40) and the clamp's Dv - 1 = 71 are constants.
        assertTrue(seen.scale().toString().contains("const " + Math.sqrt(40)), seen.scale().toString());
        assertTrue(seen.output().toString().contains("const 71"), "the gate's clamp uses Dv = 72: " + seen.output());
    }

    /** The padded launches' modules: mma.sync and wgmma forwards, decode, and the backward, for sm_80 and sm_90a. */
    @Test
    void paddedModulesAssemble() throws Exception {
        Pattern p = pattern("input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)\noutput: o * float(d + 1) / float(Dv)");
        for (int[] dims : new int[][] {{40, 40}, {72, 72}, {40, 72}}) {
            HeadPadding padding = new HeadPadding(dims[0], dims[1]);
            LoweredPattern seen = padding.lowered(LowerPattern.lower(p));
            int d = HeadPadding.padded(dims[0]), dv = HeadPadding.padded(dims[1]);
            for (int sm : new int[] {80, 90}) {
                PtxAssemblesTest.assemble(PtxModule.render(seen, KernelConfig.of(seen, sm, DType.BFLOAT16, d, dv)).text(), sm);
            }
            if (dims[0] == dims[1]) {
                var backward = padding.lowered(LowerBackward.lower(p));
                PtxAssemblesTest.assemble(BackwardModule.render(backward, BackwardConfig.of(90, DType.BFLOAT16, d, dv)).text(), 90);
            }
        }
    }
}
