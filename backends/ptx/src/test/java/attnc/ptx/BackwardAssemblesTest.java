package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LowerBackward;
import attnc.pass.Passes;
import attnc.ptx.emit.BackwardConfig;
import attnc.ptx.emit.BackwardModule;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every pattern's backward module is accepted by ptxas, on sm_80 and sm_90, bf16 and fp16, and is deterministic. */
class BackwardAssemblesTest {

    @TestFactory
    List<DynamicTest> everyBackwardAssembles() {
        record Target(int sm, DType dtype, int headDim, int blockQ, int warps, boolean wgmma) {}
        List<Target> targets = List.of(new Target(80, DType.BFLOAT16, 64, 32, 4, false), new Target(90, DType.FLOAT16, 128, 64, 8, false),
                new Target(90, DType.BFLOAT16, 128, 64, 8, true), new Target(90, DType.BFLOAT16, 96, 32, 8, false),
                new Target(80, DType.BFLOAT16, 128, 64, 4, false), new Target(90, DType.FLOAT16, 64, 64, 8, true), new Target(90, DType.BFLOAT16, 32, 32, 8, false),
                new Target(90, DType.BFLOAT16, 160, 32, 8, false));
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> files = Patterns.files();
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            Target t = targets.get(i % targets.size());
            // Every other file's dK and dV stored in the input precision, as the PyTorch export's kernels store them.
            DType keyGradients = i / targets.size() % 2 == 0 ? DType.FLOAT32 : t.dtype();
            tests.add(DynamicTest.dynamicTest(file.getFileName() + " sm_" + t.sm() + " " + t.dtype() + " D=" + t.headDim() + " q" + t.blockQ() + " w" + t.warps() + (t.wgmma() ? " wgmma" : "") + (keyGradients == DType.FLOAT32 ? "" : " dkv16"), () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                pattern = Passes.optimize(pattern, Map.of());
                BackwardModule module = BackwardModule.render(LowerBackward.lower(pattern), new BackwardConfig(t.sm(), t.dtype(), t.headDim(), t.headDim(), t.blockQ(), t.warps(),
                        t.blockQ() == 64 ? t.dtype() : DType.FLOAT32, keyGradients, t.wgmma(), false));
                assertTrue(module.text().chars().allMatch(c -> c < 128), "PTX is ASCII");
                assertEquals(module.text(), BackwardModule.render(LowerBackward.lower(pattern), module.config()).text(), "deterministic");
                PtxAssemblesTest.assemble(module.text(), t.sm());
            }));
        }
        return tests;
    }

    /**
     * Every pattern's deterministic module, mma.sync on sm_80 and wgmma on sm_90a, assembles: the
     * dq turns, the exact sums of row sums and input gradients and the kernel that rounds them.
     */
    @TestFactory
    List<DynamicTest> everyDeterministicBackwardAssembles() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path file : Patterns.files()) {
            tests.add(DynamicTest.dynamicTest(file.getFileName() + " deterministic", () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                pattern = Passes.optimize(pattern, Map.of());
                for (BackwardConfig config : List.of(BackwardConfig.mmaSync(80, DType.BFLOAT16, 64, 64), BackwardConfig.of(90, DType.FLOAT16, 128, 128))) {
                    BackwardModule module = BackwardModule.render(LowerBackward.lower(pattern), config.withDeterministic());
                    assertTrue(module.text().contains(BackwardModule.FINISH_ENTRY) && module.signature().tensors().contains("dq_turns"), config.tag());
                    PtxAssemblesTest.assemble(module.text(), config.sm());
                }
            }));
        }
        return tests;
    }

    /** Without input gradients (ALiBi's slopes held fixed) the module takes no gradient buffer for them and still assembles. */
    @org.junit.jupiter.api.Test
    void operandsOnlyDropsTheInputGradient() throws Exception {
        Pattern pattern = Passes.optimize(Patterns.compile(Path.of("../../examples/alibi.attn")), Map.of());
        for (boolean wgmma : new boolean[] {false, true}) {
            BackwardConfig config = new BackwardConfig(90, DType.BFLOAT16, 64, 64, 64, 8, DType.BFLOAT16, DType.BFLOAT16, wgmma, false);
            BackwardModule all = BackwardModule.render(LowerBackward.lower(pattern), config);
            BackwardModule operands = BackwardModule.render(LowerBackward.lower(pattern).only(java.util.Set.of()), config);
            assertTrue(all.signature().tensors().contains("grad_slopes"), all.signature().tensors().toString());
            assertTrue(!operands.signature().tensors().contains("grad_slopes") && operands.signature().inputs().contains("slopes"),
                    operands.signature().tensors() + " " + operands.signature().inputs());
            PtxAssemblesTest.assemble(operands.text(), 90);
        }
    }
}
