package attnc.gpu;

/** A CUDA driver call failed: names the call and the driver's error, e.g. {@code cuLaunchKernel: CUDA_ERROR_INVALID_VALUE}. */
public final class CudaException extends RuntimeException {
    private final String call;
    private final int code;

    public CudaException(String call, int code, String error) {
        super(call + ": " + error + " (" + code + ")");
        this.call = call;
        this.code = code;
    }

    public String call() { return call; }

    public int code() { return code; }
}
