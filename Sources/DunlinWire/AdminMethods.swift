/// The Admin service: tenants, users and API tokens (the control plane). Who may call each method
/// is in Protocol/admin.proto; in short, only server admins manage tenants, a tenant's admins
/// manage its users and tokens, and anyone may rotate, revoke and list their own tokens.
public enum Admin {
    // Tenants: server admins only.
    public static let createTenant = MethodDescriptor<Dunlin_V1_CreateTenantRequest, Dunlin_V1_Tenant>(
        path: "/dunlin.v1.Admin/CreateTenant", kind: .unary
    )
    public static let listTenants = MethodDescriptor<Dunlin_V1_ListTenantsRequest, Dunlin_V1_ListTenantsResponse>(
        path: "/dunlin.v1.Admin/ListTenants", kind: .unary
    )
    public static let suspendTenant = MethodDescriptor<Dunlin_V1_SuspendTenantRequest, Dunlin_V1_Tenant>(
        path: "/dunlin.v1.Admin/SuspendTenant", kind: .unary
    )
    public static let resumeTenant = MethodDescriptor<Dunlin_V1_ResumeTenantRequest, Dunlin_V1_Tenant>(
        path: "/dunlin.v1.Admin/ResumeTenant", kind: .unary
    )
    /// Streams a consistent copy of the tenant's database: tenant and size first, SHA-256 last.
    public static let exportTenant = MethodDescriptor<Dunlin_V1_ExportTenantRequest, Dunlin_V1_ExportTenantChunk>(
        path: "/dunlin.v1.Admin/ExportTenant", kind: .serverStreaming
    )
    public static let deleteTenant = MethodDescriptor<Dunlin_V1_DeleteTenantRequest, Dunlin_V1_Tenant>(
        path: "/dunlin.v1.Admin/DeleteTenant", kind: .unary
    )

    // Users: server admins anywhere, tenant admins in their own tenant.
    public static let createUser = MethodDescriptor<Dunlin_V1_CreateUserRequest, Dunlin_V1_User>(
        path: "/dunlin.v1.Admin/CreateUser", kind: .unary
    )
    public static let listUsers = MethodDescriptor<Dunlin_V1_ListUsersRequest, Dunlin_V1_ListUsersResponse>(
        path: "/dunlin.v1.Admin/ListUsers", kind: .unary
    )
    /// Every member of the caller's tenant: id, name and whether active, nothing else (no email,
    /// no role), so any tenant role may show its colleagues by name. Inactive users are listed
    /// too: old records still name them. The request's `tenant_id` and `include_inactive` are
    /// ignored.
    public static let listPeople = MethodDescriptor<Dunlin_V1_ListUsersRequest, Dunlin_V1_ListUsersResponse>(
        path: "/dunlin.v1.Admin/ListPeople", kind: .unary
    )
    public static let updateUser = MethodDescriptor<Dunlin_V1_UpdateUserRequest, Dunlin_V1_User>(
        path: "/dunlin.v1.Admin/UpdateUser", kind: .unary
    )

    // Tokens: admins for their users; everyone for their own (rotate, revoke, list).
    public static let issueToken = MethodDescriptor<Dunlin_V1_IssueTokenRequest, Dunlin_V1_IssuedToken>(
        path: "/dunlin.v1.Admin/IssueToken", kind: .unary
    )
    public static let rotateToken = MethodDescriptor<Dunlin_V1_RotateTokenRequest, Dunlin_V1_IssuedToken>(
        path: "/dunlin.v1.Admin/RotateToken", kind: .unary
    )
    public static let revokeToken = MethodDescriptor<Dunlin_V1_RevokeTokenRequest, Dunlin_V1_TokenInfo>(
        path: "/dunlin.v1.Admin/RevokeToken", kind: .unary
    )
    public static let listTokens = MethodDescriptor<Dunlin_V1_ListTokensRequest, Dunlin_V1_ListTokensResponse>(
        path: "/dunlin.v1.Admin/ListTokens", kind: .unary
    )

    /// The audit trail, oldest first: server admins see every tenant's and the server-wide
    /// events; a tenant's admins their own tenant's only; other roles are refused.
    public static let listAudit = MethodDescriptor<Dunlin_V1_ListAuditRequest, Dunlin_V1_ListAuditResponse>(
        path: "/dunlin.v1.Admin/ListAudit", kind: .unary
    )

    /// Sets a tenant's limits (server admins only; 0 fields take the server's defaults), recorded
    /// in the audit trail.
    public static let setTenantLimits = MethodDescriptor<Dunlin_V1_SetTenantLimitsRequest, Dunlin_V1_TenantLimits>(
        path: "/dunlin.v1.Admin/SetTenantLimits", kind: .unary
    )

    /// A tenant's limits, set and in force: server admins, and the tenant's own admins.
    public static let getTenantLimits = MethodDescriptor<Dunlin_V1_GetTenantLimitsRequest, Dunlin_V1_TenantLimits>(
        path: "/dunlin.v1.Admin/GetTenantLimits", kind: .unary
    )

    /// The token id inside an API token, so a client can name the token it holds (to rotate or
    /// revoke it) without the server learning which connection used which token.
    ///
    /// A token is `"dnl_" + id + "_" + secret`: the id is 16 characters of lower-case base32 and
    /// not secret (it is how the server finds the token's row); the secret is 52 characters of
    /// base32 (256 bits from a CSPRNG). DunlinStore's `APIToken` makes and checks them.
    public static func tokenID(of token: String) -> String? {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "dnl", parts[1].count == 16,
              parts[1].utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x32...0x37).contains($0) })
        else { return nil }
        return String(parts[1])
    }
}
