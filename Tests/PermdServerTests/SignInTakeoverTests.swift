import Foundation
import Testing

/// The account takeovers of issue 10, tried over a real socket as an attacker would.
@Suite struct SignInTakeoverTests {
    /// `USER.ADD` with an empty email, then a sign-in presenting an empty "verified" email.
    @Test func aBlankEmailIsNotALoginKey() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            #expect(try admin.request(#"USER.ADD {"id": "e1", "email": ""}"#).hasPrefix("OK e1 "))
            #expect(try admin.request(#"USER.ADD {"id": "e2", "email": "   "}"#).hasPrefix("OK e2 "))
            for email in ["", "   "] {
                let reply = try admin.request(
                    #"SIGNIN {"provider": "evil", "provider_user_id": "1\#(email.count)", "email": "\#(email)", "email_verified": true}"#)
                #expect(!reply.hasPrefix("OK e1") && !reply.hasPrefix("OK e2"), "signed in as a victim: \(reply)")
                #expect(reply.hasSuffix(" org_default NEW"), "\(reply)")
            }
        }
    }

    /// An attacker signs up first with the victim's address, unverified; the owner's verified
    /// sign-in gets an account of its own, and the attacker's account loses the address.
    @Test func anUnverifiedSignUpCannotClaimTheOwnersAddress() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            let squat = try admin.request(
                #"SIGNIN {"provider": "evil", "provider_user_id": "1", "email": "victim@x.io", "email_verified": false}"#)
            let attacker = try #require(squat.split(separator: " ").dropFirst().first.map(String.init))
            #expect(squat == "OK \(attacker) org_default NEW")
            let owner = try admin.request(
                #"SIGNIN {"provider": "google", "provider_user_id": "9", "email": "victim@x.io", "email_verified": true}"#)
            #expect(owner.hasSuffix(" org_default NEW") && !owner.hasPrefix("OK \(attacker) "), "\(owner)")
            // The attacker can no longer present the address, and an unverified claim of an
            // operator's user is refused.
            #expect(try admin.request(
                #"SIGNIN {"provider": "evil", "provider_user_id": "2", "email": "victim@x.io", "email_verified": false}"#)
                .hasPrefix("ERR CONFLICT"))
            #expect(try admin.request(#"USER.ADD {"id": "ana", "email": "ana@acme.io"}"#).hasPrefix("OK ana "))
            #expect(try admin.request(
                #"SIGNIN {"provider": "evil", "provider_user_id": "3", "email": "ana@acme.io", "email_verified": false}"#)
                .hasPrefix("ERR CONFLICT"))
            #expect(try admin.request(
                #"SIGNIN {"provider": "google", "provider_user_id": "4", "email": "ana@acme.io", "email_verified": true}"#)
                == "OK ana org_default")
        }
    }

    /// `USER.ADD` takes `email_verified` (SPEC §5): an operator's unverified email is one a
    /// verified sign-in takes.
    @Test func userAddTakesEmailVerified() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            #expect(try admin.request(#"USER.ADD {"id": "bob", "email": "bob@acme.io", "email_verified": false}"#)
                .hasPrefix("OK bob "))
            #expect(try admin.request(#"USER.ADD {"id": "cy", "email_verified": "no"}"#).hasPrefix("ERR SYNTAX"))
            let reply = try admin.request(
                #"SIGNIN {"provider": "google", "provider_user_id": "5", "email": "bob@acme.io", "email_verified": true}"#)
            #expect(reply.hasSuffix(" org_default NEW") && !reply.hasPrefix("OK bob "), "\(reply)")
            #expect(try admin.request(#"USER.ADD {"id": "MORE"}"#).hasPrefix(#"ERR SYNTAX invalid user id "MORE""#))
            #expect(try admin.request(#"USER.ADD {"id": "x", "email": "a@b"}"#).hasPrefix(#"ERR SYNTAX invalid email "a@b""#))
        }
    }
}
